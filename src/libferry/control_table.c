/* The table of every control setting, its default and its range. */

#include <string.h>
#include <stdint.h>

#include <ferry/control.h>

#define TEXT 1, 0

ferry_control const ferry_control_table[] =
{
  { "me", "", TEXT, "this host's fully qualified name; default: the system host name" },
  { "queuesplit", "23", 1, 1000, "number of numbered subdirectories in the split queue directories; fixed when the queue is made" },
  { "databytes", "10240000", 0, UINT64_MAX, "largest message ferry-inject accepts, in bytes; 0 means no limit" },
  { "locals", "=me", TEXT, "domains delivered locally to system users, one per line" },
  { "virtualdomains", "", TEXT, "domains delivered through the mailboxes table, one per line" },
  { "relaydomains", "", TEXT, "domains ferry-smtpd takes mail for from any client and relays, one per line (.domain: every domain under it)" },
  { "smtproutes", "", TEXT, "static SMTP routes, domain:host[:port] per line" },
  { "tlspolicy", "", TEXT, "TLS policy per destination: key level [match=...] per line; see ferry-spawn-remote" },
  { "smtpauth", "", TEXT, "credentials for route hosts: host user password per line; must not be readable by others" },
  { "tlscafile", "", TEXT, "PEM file of the CAs trusted for the TLS levels verify and secure; empty: the system store" },
  { "tlsbrokentime", "3600", 0, 86400, "seconds a host whose TLS handshake failed under may is contacted without STARTTLS" },
  { "concurrencylocal", "20", 1, 1000, "local deliveries at once" },
  { "concurrencyremote", "100", 1, 1000, "remote deliveries at once" },
  { "queuelifetime", "604800", 0, UINT64_MAX, "seconds a message may stay queued before its temporary failures become permanent" },
  { "minbackoff", "300", 1, UINT64_MAX, "shortest wait before retrying a deferred recipient, in seconds" },
  { "maxbackoff", "4000", 1, UINT64_MAX, "longest wait before retrying a deferred recipient, in seconds" },
  { "delaywarning", "14400", 0, UINT64_MAX, "seconds after which the sender is warned of a delay once; 0 means never" },
  { "shapingday", "86400", 10, 86400, "seconds of a shaping day: the daily= limits of control/shaping count from multiples of it since the Epoch (UTC midnight for 86400)" },
  { "shapingrecovery", "60", 1, 86400, "seconds after a throttling reply lowered a shaping key before it rises a step, and between its steps" },
  { "bouncefrom", "MAILER-DAEMON", TEXT, "local part of the From: of delivery notifications" },
  { "bouncehost", "=me", TEXT, "domain of the From: of delivery notifications" },
  { "bouncemaxbytes", "50000", 0, UINT64_MAX, "largest message a failure notice returns whole; larger ones come back as their header only; 0 means no limit" },
  { "doublebounceto", "postmaster", TEXT, "where a failed notification goes (at me when it has no @); empty: such failures are dropped" },
  { "helohost", "=me", TEXT, "the name the SMTP client gives in EHLO and HELO" },
  { "defaultdelivery", "./Maildir/", TEXT, "delivery lines for system users without a .ferry file, relative to their home" },
  { "extseparator", "-", TEXT, "the character between user and extension in local parts (user-ext)" },
  { "mailboxowner", "", TEXT, "the user that control/mailboxes deliveries run as when a line names none (root installs)" },
  { "timeoutprogram", "3600", 1, 86400, "seconds a delivery program may run before it is killed" },
  { "smtpport", "25", 1, 65535, "the TCP port of remote SMTP servers found through MX and address records" },
  { "dnsservers", "", TEXT, "DNS servers for the remote channel, ip or ip:port or [ip6]:port per line; empty: /etc/resolv.conf" },
  { "dnssecservers", "", TEXT, "validating DNS resolvers (a loopback unbound) whose AD bit is trusted, ip or ip:port or [ip6]:port per line; when set, every lookup of the remote channel goes there and dnsservers must be empty; empty: no DNSSEC" },
  { "concurrencydestination", "20", 1, 1000, "remote deliveries at once to one destination domain" },
  { "connectioncache", "5", 0, 300, "seconds an idle SMTP connection is kept for the next message to the same host; 0: never reused" },
  { "deadhosttime", "120", 0, 86400, "seconds a host that timed out is skipped" },
  { "timeoutconnect", "60", 1, 3600, "seconds to wait for a remote SMTP connection" },
  { "timeoutgreeting", "300", 1, 3600, "seconds to wait for the SMTP greeting" },
  { "timeoutcommand", "300", 1, 3600, "seconds to wait for the reply to each SMTP command" },
  { "timeoutdata", "600", 1, 3600, "seconds to wait for the message to be taken, and for the reply after it" },
  { "mtastsport", "443", 1, 65535, "the TCP port ferry-mtasts-fetch fetches MTA-STS policies from (443; another for tests)" },
  { "timeoutmtasts", "30", 1, 300, "seconds a whole MTA-STS policy fetch may take (DNS, connection, TLS and HTTP)" },
  { "tlsrptfrom", "", TEXT, "sender and From: of TLS-RPT reports (ferry-tlsrpt); empty: tls-reports@ and the value of me" },
  { "tlsrptorg", "", TEXT, "organization-name of TLS-RPT reports (ferry-tlsrpt); empty: the value of me" },
  { "metricslisten", "127.0.0.1:9425", TEXT, "where the metrics service (ferry-metrics -L) listens: host:port, or [ipv6]:port" },
  { 0, 0, 0, 0, 0 }
} ;

ferry_control const *ferry_control_find (char const *name)
{
  ferry_control const *c = ferry_control_table ;
  for (; c->name ; c++) if (!strcmp(c->name, name)) return c ;
  return 0 ;
}
