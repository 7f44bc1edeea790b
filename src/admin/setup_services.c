/* setup_services: the run scripts of the home's s6 service directories (ferry-setup). */

#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include "setup.h"

 /* service/NAME/run runs HOME/bin/PROG [OPT] HOME (as user in a home with the dedicated users,
    when user is given) with its log (fd 2) in the log pipe; service/NAME/log/run keeps that log
    in HOME/LOGDIR with TAI64N stamps, 20 archives of 1 MB. */
static void service_make (setup *s, char const *home, char const *name, char const *why, char const *user, char const *prog, char const *opt, char const *logdir)
{
  stralloc sa = STRALLOC_ZERO ;
  char fn[64] ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# ")
   || !stralloc_cats(&sa, why)
   || !stralloc_cats(&sa, "\nfdmove -c 2 1\n")
   || (s->dedicated && user && (!stralloc_cats(&sa, "s6-setuidgid ") || !stralloc_cats(&sa, user) || !stralloc_cats(&sa, "\n")))
   || !stralloc_cats(&sa, "\"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/bin/") || !stralloc_cats(&sa, prog)
   || !stralloc_cats(&sa, "\" ") || (opt && (!stralloc_cats(&sa, opt) || !stralloc_cats(&sa, " ")))
   || !stralloc_cats(&sa, "\"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "\"\n"))
    strerr_diefu1sys(111, "allocate") ;
  memcpy(fn, "service/", 8) ; memcpy(fn + 8, name, strlen(name)) ; memcpy(fn + 8 + strlen(name), "/run", 5) ;
  setup_file(s, fn, sa.s, sa.len, 0755) ;
  memcpy(fn + 8 + strlen(name), "/log/run", 9) ;
  setup_log_run(s, fn, home, name, logdir) ;
  stralloc_free(&sa) ;
}

void setup_log_run (setup *s, char const *fn, char const *home, char const *name, char const *logdir)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# the log of service/")
   || !stralloc_cats(&sa, name)
   || !stralloc_cats(&sa, ": TAI64N stamps, 20 archives of 1 MB, in the home's ")
   || !stralloc_cats(&sa, logdir) || !stralloc_cats(&sa, "/.\n")
   || (s->dedicated && !stralloc_cats(&sa, "s6-setuidgid ferryl\n"))
   || !stralloc_cats(&sa, "s6-log -b -- n20 s1000000 t \"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/") || !stralloc_cats(&sa, logdir)
   || !stralloc_cats(&sa, "\"\n"))
    strerr_diefu1sys(111, "allocate") ;
  setup_file(s, fn, sa.s, sa.len, 0755) ;
  stralloc_free(&sa) ;
}

void setup_services (setup *s, char const *home)
{
  int newmetrics = access("service/ferry-metrics/run", F_OK) < 0 ;
  service_make(s, home, "ferry", "The ferry set: ferry-start becomes the queue manager; its log (fd 2) goes to log/run.",
    0, "ferry-start", 0, "log") ;
  service_make(s, home, "ferry-injectd", "ferry-injectd: ferry-inject as a server on public/inject (group commit), apart from\n"
    "# the set, so that mail is accepted while the set is stopped. Without it, injection runs ferry-inject.",
    0, "ferry-injectd", 0, "log/injectd") ;
  service_make(s, home, "ferry-sendmaild", "ferry-sendmaild: serves ferry-sendmail on sendmail/socket; each worker becomes its caller\n"
    "# (as root: every local user; else the home's own user). Without it, ferry-sendmail runs the job alone.",
    0, "ferry-sendmaild", 0, "log/sendmaild") ;
  service_make(s, home, "ferry-metrics", "ferry-metrics: the metrics over HTTP (tcpserver on control/metricslisten). Down until\n"
    "# s6-svc -u starts it; remove the down file to start it with the supervision tree.",
    "ferryl", "ferry-metrics", "-L", "log/metrics") ;
  /* down by default: made with the service, never again (its removal is the admin's choice) */
  if (newmetrics && !s->checkonly) setup_file(s, "service/ferry-metrics/down", "", 0, 0644) ;
  setup_smtpd(s, home) ;
}
