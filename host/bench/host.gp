# libvswap vs raw codec throughput, from host.json (via plot_data.py).
# gnuplot -e "datafile='host.dat'; outfile='host.png'" host.gp
set terminal pngcairo size 1100,600 font ",10"
set output outfile
set title "libvswap vs raw codecs on the same real-memory pages (one run; logical MiB/s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "MiB/s (4 KiB pages)"
set logscale y
set yrange [10:*]
set grid ytics
set xtics rotate by -20 nomirror
set key top right
plot datafile using 2:xtic(1) title "raw codec / memcpy", \
     '' using 3 title "libvswap"
