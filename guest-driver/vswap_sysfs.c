// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-vswap: counters and /sys/block/vswapN/vswap/.
 *
 * Files are fixed-column, one line, in the manner of zram's mm_stat; the
 * columns are documented in docs/guest-driver.md and listed by "columns".
 *   stat       store_reqs store_pages load_reqs load_pages
 *              inval_reqs inval_pages wzero_reqs wzero_pages
 *   errors     bad_request no_space ioerr integrity unsupported unknown
 *              no_space_backoff
 *   slot_free  notified sent cancelled dropped store_deferred
 *   device     capacity_slots max_pages num_queues write_zeroes
 * New columns are only ever appended.
 */
#include <linux/blkdev.h>
#include <linux/build_bug.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>

#include "vswap.h"

/* Names of the counters, in enum order; "columns" prints them. */
static const char * const vswap_stat_names[] = {
	[VSWAP_STAT_STORE_REQS]		= "store_reqs",
	[VSWAP_STAT_STORE_PAGES]	= "store_pages",
	[VSWAP_STAT_LOAD_REQS]		= "load_reqs",
	[VSWAP_STAT_LOAD_PAGES]		= "load_pages",
	[VSWAP_STAT_INVAL_REQS]		= "inval_reqs",
	[VSWAP_STAT_INVAL_PAGES]	= "inval_pages",
	[VSWAP_STAT_WZERO_REQS]		= "wzero_reqs",
	[VSWAP_STAT_WZERO_PAGES]	= "wzero_pages",
	[VSWAP_STAT_ERR_BAD_REQUEST]	= "bad_request",
	[VSWAP_STAT_ERR_NO_SPACE]	= "no_space",
	[VSWAP_STAT_ERR_IOERR]		= "ioerr",
	[VSWAP_STAT_ERR_INTEGRITY]	= "integrity",
	[VSWAP_STAT_ERR_UNSUPPORTED]	= "unsupported",
	[VSWAP_STAT_ERR_UNKNOWN]	= "unknown",
	[VSWAP_STAT_ERR_NO_SPACE_BACKOFF] = "no_space_backoff",
	[VSWAP_STAT_LOAD_BY_PAGE]	= "load_by_page",
	[VSWAP_STAT_FREE_NOTIFIED]	= "notified",
	[VSWAP_STAT_FREE_SENT]		= "sent",
	[VSWAP_STAT_FREE_CANCELLED]	= "cancelled",
	[VSWAP_STAT_FREE_DROPPED]	= "dropped",
	[VSWAP_STAT_STORE_DEFERRED]	= "store_deferred",
	[VSWAP_STAT_FREE_SUSPENDED]	= "suspended",
};

static_assert(ARRAY_SIZE(vswap_stat_names) == VSWAP_STAT_NR);

u64 vswap_stat_sum(struct virtio_vswap *vs, enum vswap_stat s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(vs->stats, cpu)->v[s];
	return sum;
}

static struct virtio_vswap *dev_to_vswap(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

/* Print counters [first, last] as one line. */
static ssize_t vswap_show_range(struct device *dev, char *buf,
				enum vswap_stat first, enum vswap_stat last)
{
	struct virtio_vswap *vs = dev_to_vswap(dev);
	enum vswap_stat s;
	int len = 0;

	for (s = first; s <= last; s++)
		len += sysfs_emit_at(buf, len, "%s%8llu", s == first ? "" : " ",
				     (unsigned long long)vswap_stat_sum(vs, s));
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static ssize_t stat_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return vswap_show_range(dev, buf, VSWAP_STAT_STORE_REQS,
				VSWAP_STAT_WZERO_PAGES);
}
static DEVICE_ATTR_RO(stat);

static ssize_t errors_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return vswap_show_range(dev, buf, VSWAP_STAT_ERR_BAD_REQUEST,
				VSWAP_STAT_LOAD_BY_PAGE);
}
static DEVICE_ATTR_RO(errors);

static ssize_t slot_free_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return vswap_show_range(dev, buf, VSWAP_STAT_FREE_NOTIFIED,
				VSWAP_STAT_FREE_SUSPENDED);
}
static DEVICE_ATTR_RO(slot_free);

static ssize_t columns_show(struct device *dev,
			    struct device_attribute *attr, char *buf)
{
	int len = 0;
	int s;

	for (s = 0; s < VSWAP_STAT_NR; s++)
		len += sysfs_emit_at(buf, len, "%s%s", s ? " " : "",
				     vswap_stat_names[s]);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(columns);

static ssize_t device_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct virtio_vswap *vs = dev_to_vswap(dev);

	return sysfs_emit(buf, "%8llu %8u %8u %8u\n",
			  (unsigned long long)get_capacity(vs->disk) >>
				VSWAP_SLOT_SECTOR_SHIFT,
			  vs->max_pages, vs->num_vqs, vs->write_zeroes);
}
static DEVICE_ATTR_RO(device);

static struct attribute *vswap_attrs[] = {
	&dev_attr_stat.attr,
	&dev_attr_errors.attr,
	&dev_attr_slot_free.attr,
	&dev_attr_columns.attr,
	&dev_attr_device.attr,
	NULL,
};

static const struct attribute_group vswap_attr_group = {
	.name	= "vswap",
	.attrs	= vswap_attrs,
};

const struct attribute_group *vswap_attr_groups[] = {
	&vswap_attr_group,
	NULL,
};
