# Device set of the virtio-vswap QEMU build (configure
# --without-default-devices --with-devices-x86_64=vswap-x86_64):
# both PC machines, virtio over PCI, what a swap test guest needs,
# PCIe root ports (hot-plug tests), and virtio-vswap.  Placed into configs/devices/x86_64-softmmu/ by
# scripts/build-qemu.sh.
CONFIG_Q35=y
CONFIG_I440FX=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_VIRTIO_RNG=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_VIRTIO_MEM=y
CONFIG_SERIAL_ISA=y
CONFIG_VIRTIO_VSWAP=y
CONFIG_PCI_DEVICES=n
CONFIG_PCIE_PORT=y
