# Turns package/modes into build/include/ferry/modes.h: the home lines as a C table for ferry-setup.
BEGIN {
  print "/* generated from package/modes by make: do not edit */"
  print "#define FERRY_MODES_TABLE \\"
}
/^#/ || NF < 5 { next }
$1 == "bin" { next }
{
  printf "  { '%s', \"%s\", \"%s\", \"%s\", 0%s }, \\\n", substr($1, 1, 1), $2, $3, $4, $5
}
END { print "  { 0, 0, 0, 0, 0 }" }
