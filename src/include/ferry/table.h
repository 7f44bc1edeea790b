/* The lines of a control table held in memory (control/tlspolicy, control/smtpauth). */
#ifndef FERRY_TABLE_H
#define FERRY_TABLE_H

#include <stddef.h>

 /* Is c a space, a tab or a CR (the blanks around a table's fields)? */
extern int ferry_table_blank (char c) ;

 /* The next line of table[0..len) from *i, without its blanks at either end, into line and n;
    *i moves past it. 0: no line left. */
extern int ferry_table_line (char const *table, size_t len, size_t *i, char const **line, size_t *n) ;

#endif
