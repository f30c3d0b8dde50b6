#!/bin/sh
# cowsay in busybox sh + awk, for the cowsay-docker module: the arguments joined by spaces, filled to
# lines of at most 39 characters (longer words cut), in a balloon above the default cow. Matches the
# WASM cowsay (and Debian's) for ASCII text.
printf '%s' "$*" | awk '
function flush() { lines[n++] = line; line = ""; have = 0 }
{ text = text (NR > 1 ? " " : "") $0 }
END {
  count = split(text, words, /[ \t\n\r\f\v]+/)
  n = 0; line = ""; have = 0
  for (i = 1; i <= count; i++) {
    w = words[i]
    if (w == "") continue
    if (have && length(line) + 1 + length(w) <= 39) { line = line " " w; continue }
    if (have) flush()
    while (length(w) > 39) { line = substr(w, 1, 39); flush(); w = substr(w, 40) }
    if (w != "") { line = w; have = 1 }
  }
  if (have || n == 0) flush()
  width = 0
  for (i = 0; i < n; i++) if (length(lines[i]) > width) width = length(lines[i])
  bar = ""; for (i = 0; i < width + 2; i++) bar = bar "_"
  dash = ""; for (i = 0; i < width + 2; i++) dash = dash "-"
  print " " bar
  for (i = 0; i < n; i++) {
    if (n == 1) { l = "<"; r = ">" }
    else if (i == 0) { l = "/"; r = "\\" }
    else if (i == n - 1) { l = "\\"; r = "/" }
    else { l = "|"; r = "|" }
    printf "%s %-" width "s %s\n", l, lines[i], r
  }
  print " " dash
  print "        \\   ^__^"
  print "         \\  (oo)\\_______"
  print "            (__)\\       )\\/\\"
  print "                ||----w |"
  print "                ||     ||"
}'
