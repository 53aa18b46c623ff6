# bench-guest: per configuration, workload time / no-swap and guest
# instructions per swapped page, for each workload (report.py writes the
# data file and calls this).
# gnuplot -e "datafile='guest.dat'; outfile='guest.png'; workloads='e2e corpus'; size='2x'" guest.gp
set terminal pngcairo size 1200,520 font ",10"
set output outfile
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set xtics rotate by -25 nomirror
set key top left
set yrange [0:*]
n = words(workloads)
set multiplot layout 1,2 title sprintf("bench-guest, workload %s, TCG (ratios of one run)", size)
set title "workload time / no swap (lower is better)"
plot for [i=1:n] datafile using (column(2*i)):xtic(1) title word(workloads, i)
set title "guest instructions per swapped page, thousands (lower is better)"
plot for [i=1:n] datafile using (column(2*i+1)):xtic(1) title word(workloads, i)
unset multiplot
