/* lsan_policy.o, linked into every program of make sanitize's build (tests/sanitize): leaks are
   checked at the exit of the long-running programs only. A one-shot program's buffers are freed by
   its exit, and a leak report there would replace its exit code, which the tests check. */

#define _GNU_SOURCE

#include <errno.h>
#include <string.h>

int __lsan_is_turned_off (void) ;

int __lsan_is_turned_off (void)
{
  static char const *const checked[] = { "ferry-schedule", "ferry-preprocess-todo", "ferry-clean", "ferry-spawn-local",
    "ferry-spawn-remote", "ferry-injectd", 0 } ;
  unsigned int i ;
  for (i = 0 ; checked[i] ; i++) if (!strcmp(program_invocation_short_name, checked[i])) return 0 ;
  return 1 ;
}
