/* setup_smtpd: the SMTP services of a ferry home (ferry-setup): control/smtpd.rules and its
   control/smtpd.cdb, service/ferry-smtpd, ferry-submission and ferry-smtps, each ferry-smtpd
   in its server mode (-l: it listens, its workers take the connections). */

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include "setup.h"

#define TCPRULES "/usr/bin/tcprules"

extern char **environ ;

static char const smtpd_rules[] =
  "# Who may connect to the SMTP services, and with what environment: tcprules(1) rules, compiled\n"
  "# to control/smtpd.cdb, which ferry-smtpd -x (or tcpserver -x) reads at each connection.\n"
  "# ferry-smtpd's server mode looks up no host name: rules by address only. After a change, run:\n"
  "#   tcprules control/smtpd.cdb control/smtpd.tmp < control/smtpd.rules\n"
  "# This host relays without AUTH (RELAYCLIENT); everyone else may send to the domains ferry\n"
  "# accepts, or anywhere after AUTH (ports 587 and 465).\n"
  "127.0.0.1:allow,RELAYCLIENT=\"\"\n"
  ":allow\n" ;

 /* control/smtpd.rules, and control/smtpd.cdb compiled from it when missing */
static void smtpd_rules_make (setup *s)
{
  setup_file(s, "control/smtpd.rules", smtpd_rules, sizeof(smtpd_rules) - 1, 0644) ;
  if (access("control/smtpd.cdb", F_OK) == 0) return ;
  if (s->checkonly) { setup_say("missing: ", "control/smtpd.cdb", " (tcprules control/smtpd.cdb control/smtpd.tmp < control/smtpd.rules)") ; s->problems++ ; return ; }
  if (access(TCPRULES, X_OK) < 0)
  {
    strerr_warnw("no ", TCPRULES, ": control/smtpd.cdb not made (install ucspi-tcp, then run tcprules as control/smtpd.rules says)") ;
    return ;
  }
  {
    int fd = open("control/smtpd.rules", O_RDONLY | O_CLOEXEC) ;
    int wstat ;
    pid_t pid ;
    char const *argv[] = { TCPRULES, "control/smtpd.cdb", "control/smtpd.tmp", 0 } ;
    if (fd < 0) strerr_diefu1sys(111, "open control/smtpd.rules") ;
    pid = fork() ;
    if (pid < 0) strerr_diefu1sys(111, "fork") ;
    if (!pid)
    {
      if (dup2(fd, 0) < 0) _exit(111) ;
      execve(argv[0], (char *const *)argv, environ) ;
      _exit(111) ;
    }
    fd_close(fd) ;
    if (wait_pid(pid, &wstat) < 0) strerr_diefu2sys(111, "wait for ", TCPRULES) ;
    if (!WIFEXITED(wstat) || WEXITSTATUS(wstat)) strerr_dief(111, TCPRULES, " failed for ", "control/smtpd.rules") ;
    setup_say("created ", "control/smtpd.cdb", " (from control/smtpd.rules)") ;
    s->created++ ;
  }
}

 /* One SMTP service: service/NAME/run runs ferry-smtpd -l 0.0.0.0:PORT -P WORKERS with the rules
    of control/smtpd.cdb [OPT] HOME [CHECKPASSWORD /bin/true]; started as root, ferry-smtpd binds
    the port, then serves as ferryd in a root install; its log (fd 2) in HOME/log/LOGDIR. Down
    until started. */
static void smtpd_service_make (setup *s, char const *home, char const *name, char const *why, char const *port, char const *workers, char const *opt, int auth, char const *logdir)
{
  stralloc sa = STRALLOC_ZERO ;
  char fn[64] ;
  int isnew ;
  size_t k = strlen(name) ;
  memcpy(fn, "service/", 8) ; memcpy(fn + 8, name, k) ; memcpy(fn + 8 + k, "/run", 5) ;
  isnew = access(fn, F_OK) < 0 ;
  if (!stralloc_cats(&sa, "#!/usr/bin/execlineb -P\n# ") || !stralloc_cats(&sa, why)
   || !stralloc_cats(&sa, "\n# Down until s6-svc -u starts it; remove the down file to start it with the supervision tree.\n"
        "# -P: the workers, the sessions served at once (more wait in the kernel's backlog); each serves\n"
        "# 100 connections (-u) and is replaced. Under tcpserver instead: see ferry-smtpd.html.\n")
   || (auth && !stralloc_cats(&sa, "# AUTH: name your checkpassword program (qmail's interface: see ferry-smtpd.html) in place of\n"
        "# /usr/local/bin/checkpassword; it runs for each AUTH with the arguments that follow it.\n"))
   || !stralloc_cats(&sa, "fdmove -c 2 1\n\"")
   || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/bin/ferry-smtpd\" -l 0.0.0.0:") || !stralloc_cats(&sa, port)
   || !stralloc_cats(&sa, " -P ") || !stralloc_cats(&sa, workers)
   || !stralloc_cats(&sa, " -x \"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "/control/smtpd.cdb\" ")
   || (opt && (!stralloc_cats(&sa, opt) || !stralloc_cats(&sa, " ")))
   || !stralloc_cats(&sa, "\"") || !stralloc_cats(&sa, home) || !stralloc_cats(&sa, "\"")
   || (auth && !stralloc_cats(&sa, " /usr/local/bin/checkpassword /bin/true"))
   || !stralloc_cats(&sa, "\n"))
    strerr_diefu1sys(111, "allocate") ;
  setup_file(s, fn, sa.s, sa.len, 0755) ;
  memcpy(fn + 8 + k, "/log/run", 9) ;
  setup_log_run(s, fn, home, name, logdir) ;
  stralloc_free(&sa) ;
  /* down by default: made with the service, never again (its removal is the admin's choice) */
  memcpy(fn + 8 + k, "/down", 6) ;
  if (isnew && !s->checkonly) setup_file(s, fn, "", 0, 0644) ;
}

void setup_smtpd (setup *s, char const *home)
{
  smtpd_rules_make(s) ;
  smtpd_service_make(s, home, "ferry-smtpd", "ferry-smtpd on port 25 (smtp): mail from other hosts, STARTTLS with control/smtpdcert, no AUTH.",
    "25", "20", 0, 0, "log/smtpd") ;
  smtpd_service_make(s, home, "ferry-submission", "ferry-smtpd on port 587 (submission): STARTTLS, then AUTH; an authenticated client relays.",
    "587", "10", 0, 1, "log/submission") ;
  smtpd_service_make(s, home, "ferry-smtps", "ferry-smtpd on port 465 (smtps): TLS from the first byte (-s), AUTH; an authenticated client relays.",
    "465", "10", "-s", 1, "log/smtps") ;
}
