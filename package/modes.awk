# Turns package/modes into build/include/ferry/modes.h: every line as a C table for ferry-setup (bin lines as bin/NAME).
BEGIN {
  print "/* generated from package/modes by make: do not edit */"
  print "#define FERRY_MODES_TABLE \\"
}
/^#/ || NF < 5 { next }
{
  path = $1 == "bin" ? "bin/" $2 : $2
  printf "  { '%s', \"%s\", \"%s\", \"%s\", 0%s }, \\\n", substr($1, 1, 1), path, $3, $4, $5
}
END { print "  { 0, 0, 0, 0, 0 }" }
