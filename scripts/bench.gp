# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "dir='build/bench'" scripts/bench.gp: throughput and RR p50
# ratios to plain TCP by message size, one bar per configuration.
set terminal png size 1100,450
set output dir.'/results.png'
set multiplot layout 1,2
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set key top left
set ylabel 'ratio to plain TCP'
set title 'One-way throughput (messages/s), higher is better'
plot for [i=2:*] dir.'/ratios.dat' using i:xtic(1) title columnhead(i)
set title 'Request/response p50 latency, lower is better'
plot for [i=2:*] dir.'/rr.dat' using i:xtic(1) title columnhead(i)
unset multiplot
