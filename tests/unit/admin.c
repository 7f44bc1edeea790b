/* Unit tests of the hand tools' pieces: address lists (sendmail -t), JSON strings, durations,
   the Prometheus text lines of the queue manager's snapshot, the names ferry-qctl suspends. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <ferry/suspend.h>

#include "admin/admin.h"
#include "unit.h"

static void list (char const *in, char const *want, unsigned int wantn)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int n = addrlist_parse(&sa, in, strlen(in)), i ;
  for (i = 0 ; i < sa.len ; i++) if (!sa.s[i]) sa.s[i] = '|' ;
  CHECK(n == wantn && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "%s: got %u %.*s", in, n, (int)sa.len, sa.s) ;
  stralloc_free(&sa) ;
}

static void qual (char const *in, char const *want, int wantn)
{
  stralloc sa = STRALLOC_ZERO ;
  int n = addrlist_qualify(&sa, in, strlen(in), "h.example", 9) ;
  CHECK(n == wantn && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "qualify %s: got %d %.*s", in, n, (int)sa.len, sa.s) ;
  stralloc_free(&sa) ;
}

static void json (char const *in, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  CHECK(json_cat(&sa, in) && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len), "json of %s: %.*s", in, (int)sa.len, sa.s) ;
  stralloc_free(&sa) ;
}

static void dur (uint64_t t, char const *want)
{
  char s[DURATION_FMT] ;
  duration_fmt(s, t) ;
  CHECK(!strcmp(s, want), "%llu: %s, want %s", (unsigned long long)t, s, want) ;
}

static void prom (char const *in, int want, char const *name, char const *key, char const *keyval, double value)
{
  char line[256] ;
  prom_sample p ;
  stralloc v = STRALLOC_ZERO ;
  int r ;
  strcpy(line, in) ;
  r = prom_line(line, &p) ;
  CHECK(r == want, "prom_line %s: %d", in, r) ;
  if (r == 1)
  {
    CHECK(!strcmp(p.name, name) && p.value == value, "prom_line %s: %s %g", in, p.name, p.value) ;
    if (keyval) CHECK(prom_label(p.labels, key, &v) == 1 && !strcmp(v.s, keyval), "prom_label %s of %s: %s", key, in, v.s ? v.s : "(none)") ;
    else if (key) CHECK(prom_label(p.labels, key, &v) == 0, "prom_label %s of %s: none", key, in) ;
  }
  stralloc_free(&v) ;
}

static void susp (char const *in, char const *want)
{
  char out[FERRY_SUSPEND_NAME_MAX] ;
  size_t n = ferry_suspend_name(out, in) ;
  CHECK(want ? n == strlen(want) && !strcmp(out, want) : !n, "suspend name %s: %s", in, n ? out : "(refused)") ;
}

int main (void)
{
  list(" a@b", "a@b|", 1) ;
  list(" Al <al@x.org>, \"B, x\" <b@x.org>", "al@x.org|b@x.org|", 2) ;
  list(" c@x.org (carl, the boss)", "c@x.org|", 1) ;
  list(" team: a@x.org, b@x.org;, c@x.org", "a@x.org|b@x.org|c@x.org|", 3) ;
  list(" undisclosed-recipients:;", "", 0) ;
  list(" <@relay.example:u@x.org>", "u@x.org|", 1) ;
  list(" \"odd local\"@x.org", "\"odd local\"@x.org|", 1) ;
  list(" a@x.org,,, b@x.org\r\n", "a@x.org|b@x.org|", 2) ;
  list(" user", "user|", 1) ;
  list(" a@[IPv6:2001:db8::1], b@x.org", "a@[IPv6:2001:db8::1]|b@x.org|", 2) ;
  qual(" root\n", " root@h.example\n", 1) ;
  qual(" alice, \"Bob B\" <bob>, carol@example.org\n", " alice@h.example, \"Bob B\" <bob@h.example>, carol@example.org\n", 2) ;
  qual(" root (Cron Daemon)", " root@h.example (Cron Daemon)", 1) ;
  qual(" \"a, b\" < bob >,\r\n\tteam: x, y@z.org;", " \"a, b\" < bob@h.example >,\r\n\tteam: x@h.example, y@z.org;", 2) ;
  qual(" undisclosed-recipients:;", " undisclosed-recipients:;", 0) ;
  qual(" \"odd local\"", " \"odd local\"@h.example", 1) ;
  qual(" \"odd@local\" <a@b.org>, <>", " \"odd@local\" <a@b.org>, <>", 0) ;
  json("plain", "\"plain\"") ;
  json("q\"b\\", "\"q\\\"b\\\\\"") ;
  json("tab\there", "\"tab\\u0009here\"") ;
  json("caf\xc3\xa9", "\"caf\xc3\xa9\"") ;
  json("bad\xff\xfe", "\"bad\\ufffd\\ufffd\"") ;
  json("cut\xe2\x82", "\"cut\\ufffd\\ufffd\"") ;
  dur(0, "0s") ;
  dur(59, "59s") ;
  dur(61, "1m1s") ;
  dur(3600, "1h") ;
  dur(3661, "1h1m") ;
  dur(90061, "1d1h") ;
  dur(86401, "1d") ;
  prom("ferry_queue_messages 12", 1, "ferry_queue_messages", "key", 0, 12) ;
  prom("ferry_shaping_waiting{key=\"site:big\"} 120", 1, "ferry_shaping_waiting", "key", "site:big", 120) ;
  prom("ferry_shaping_results_total{key=\"a.test\",result=\"success\"} 3", 1, "ferry_shaping_results_total", "result", "success", 3) ;
  prom("ferry_shaping_inflight{key=\"odd\\\"k}\\\\\",x=\"y\"} 2", 1, "ferry_shaping_inflight", "key", "odd\"k}\\", 2) ;
  prom("ferry_shaping_rate_per_second{key=\"r\"} 0.16666666666666666", 1, "ferry_shaping_rate_per_second", "key", "r", 0.16666666666666666) ;
  prom("ferry_delivery_delay_seconds_bucket{channel=\"local\",le=\"+Inf\"} 7", 1, "ferry_delivery_delay_seconds_bucket", "le", "+Inf", 7) ;
  prom("# TYPE ferry_queue_messages gauge", 0, 0, 0, 0, 0) ;
  prom("", 0, 0, 0, 0, 0) ;
  prom("ferry_x{key=\"unterminated} 1", -1, 0, 0, 0, 0) ;
  prom("ferry_x{key=\"a\"}", -1, 0, 0, 0, 0) ;
  prom("ferry_x 1z", -1, 0, 0, 0, 0) ;
  susp("@Example.COM", "@example.com") ;
  susp("site:Big_mail-1.x", "site:big_mail-1.x") ;
  susp("route:[192.0.2.7]", "route:[192.0.2.7]") ;
  susp("route:[IPv6:2001:db8::1]", "route:[ipv6:2001:db8::1]") ;
  susp("example.com", 0) ;
  susp("@", 0) ;
  susp("@.hidden", 0) ;
  susp("@a/b", 0) ;
  susp("@a b", 0) ;
  susp("site:a:b", 0) ;
  susp("route:", 0) ;
  return UNIT_END() ;
}
