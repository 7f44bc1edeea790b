/* Unit tests of ferry-tlsrpt's parts (src/report/): days, the lines of a day file, JSON strings
   and a whole report (an MTA-STS policy from its cache file among them), mailto: URIs, gzip,
   the message. */

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <skalibs/stralloc.h>

#include <ferry/mta_sts.h>
#include "report/report.h"
#include "unit.h"

static void test_days (void)
{
  uint64_t t = 1 ;
  char s[REPORT_DAY_LEN + 1] ;
  CHECK(report_day_scan("1970-01-01", 10, &t) && t == 0, "epoch: %llu", (unsigned long long)t) ;
  CHECK(report_day_scan("2024-05-01", 10, &t) && t == 1714521600, "2024-05-01: %llu", (unsigned long long)t) ;
  CHECK(report_day_scan("2024-02-29", 10, &t) && t == 1709164800, "a leap day: %llu", (unsigned long long)t) ;
  CHECK(report_day_scan("2000-03-01", 10, &t) && t == 951868800, "after 2000's leap day: %llu", (unsigned long long)t) ;
  CHECK(report_day_scan("2100-03-01", 10, &t) && t == 4107542400ULL, "2100 is no leap year: %llu", (unsigned long long)t) ;
  CHECK(!report_day_scan("2023-02-29", 10, &t), "no 29 February in 2023") ;
  CHECK(!report_day_scan("2100-02-29", 10, &t), "nor in 2100") ;
  CHECK(!report_day_scan("2024-13-01", 10, &t) && !report_day_scan("2024-04-31", 10, &t) && !report_day_scan("2024-00-10", 10, &t), "no such month or day") ;
  CHECK(!report_day_scan("1969-12-31", 10, &t), "before 1970") ;
  CHECK(!report_day_scan("2024-5-01x", 10, &t) && !report_day_scan("2024-05-01", 9, &t) && !report_day_scan("2024/05/01", 10, &t), "not YYYY-MM-DD") ;
  CHECK(!report_day_scan("2024-05-01.queued", 17, &t), "a longer name") ;
  s[REPORT_DAY_LEN] = 0 ;
  report_day_fmt(s, 1714521600 + 86399) ;
  CHECK(!strcmp(s, "2024-05-01"), "the last second of a day: %s", s) ;
  report_day_fmt(s, 1709164800) ;
  CHECK(!strcmp(s, "2024-02-29"), "%s", s) ;
}

 /* parses a copy of line; the reason when it does not parse, "" when it does */
static char const *parse (char const *line, report_line *l, char *buf)
{
  char const *why = "" ;
  size_t n = strlen(line) ;
  memcpy(buf, line, n + 1) ;
  return report_line_parse(buf, n, l, &why) ? "" : why ;
}

static void test_lines (void)
{
  char buf[600] ;
  report_line l ;
  char const *why = parse("1714521600\texample.org\tsts\tabc123\tmx1.example.org\t192.0.2.1\t2001:db8::1\tsuccess\t", &l, buf) ;
  CHECK(!why[0], "a good sts line: %s", why) ;
  CHECK(!strcmp(l.f[RF_DOMAIN], "example.org") && !strcmp(l.f[RF_POLICY], "abc123") && !strcmp(l.f[RF_SIP], "2001:db8::1") && !l.f[RF_DETAIL][0], "its fields") ;
  why = parse("1\texample.org\ttlsa\t3 1 1 ab12,2 0 1 CD\tmx.example.org\t\t\ttlsa-invalid\tno usable record", &l, buf) ;
  CHECK(!why[0] && !strcmp(l.f[RF_DETAIL], "no usable record"), "a tlsa line, empty addresses: %s", why) ;
  why = parse("1\texample.org\tno-policy-found\t\t\t\t\tsts-policy-fetch-error\tHTTP 404", &l, buf) ;
  CHECK(!why[0], "no-policy-found, empty MX host: %s", why) ;
  why = parse("1\texample.org\ttlsa\t\tmx.example.org\t\t\ttlsa-invalid\t", &l, buf) ;
  CHECK(!why[0], "tlsa without records: %s", why) ;
  CHECK(parse("1\texample.org\tsts\tabc\tmx\t\t\tsuccess", &l, buf)[0], "8 fields") ;
  CHECK(parse("1\texample.org\tsts\tabc\tmx\t\t\tsuccess\t\t", &l, buf)[0], "10 fields") ;
  CHECK(parse("", &l, buf)[0], "an empty line") ;
  CHECK(parse("x\texample.org\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "a bad time") ;
  why = parse("1\tExample.ORG.\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf) ;
  CHECK(!why[0] && !strcmp(l.f[RF_DOMAIN], "example.org"), "upper case and a final dot: %s %s", why, l.f[RF_DOMAIN]) ;
  CHECK(parse("1\t../etc\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "a path as domain") ;
  CHECK(parse("1\texample..org\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "an empty label") ;
  CHECK(parse("1\texample.org..\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "two final dots") ;
  CHECK(parse("1\t.\tsts\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "the root") ;
  CHECK(parse("1\texample.org\tdane\tabc\tmx\t\t\tsuccess\t", &l, buf)[0], "an unknown type") ;
  CHECK(parse("1\texample.org\tsts\t\tmx\t\t\tsuccess\t", &l, buf)[0], "sts without an id") ;
  CHECK(parse("1\texample.org\tsts\tab-c\tmx\t\t\tsuccess\t", &l, buf)[0], "a bad sts id") ;
  CHECK(parse("1\texample.org\ttlsa\t3 1 1 xy\tmx\t\t\tsuccess\t", &l, buf)[0], "TLSA records that are not hex") ;
  CHECK(parse("1\texample.org\tno-policy-found\tx\tmx\t\t\tsuccess\t", &l, buf)[0], "no-policy-found with a policy") ;
  CHECK(parse("1\texample.org\tsts\tabc\tm x\t\t\tsuccess\t", &l, buf)[0], "a space in the MX host") ;
  CHECK(parse("1\texample.org\tsts\tabc\tmx\t1.2.3.x\t\tsuccess\t", &l, buf)[0], "a bad address") ;
  CHECK(parse("1\texample.org\tsts\tabc\tmx\t\t\tfailure\t", &l, buf)[0], "an unknown result") ;
  {
    char raw[] = "1\texample.org\tsts\tabc\tmx\t\t\tsuccess\ta\0b" ;
    char const *w = "" ;
    CHECK(!report_line_parse(raw, sizeof(raw) - 1, &l, &w) && w[0], "a null byte") ;
  }
}

static char const *jstr (char const *s, size_t n)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!report_json_string(&sa, s, n) || !stralloc_0(&sa)) return "(nomem)" ;
  return sa.s ;
}

#define JSTR(in, want) do \
{ \
  char const *got_ = jstr(in, sizeof(in) - 1) ; \
  CHECK(!strcmp(got_, want), "got %s, want %s", got_, want) ; \
} while (0)

static void test_json_string (void)
{
  JSTR("plain text", "\"plain text\"") ;
  JSTR("a \"quote\" and \\ back", "\"a \\\"quote\\\" and \\\\ back\"") ;
  JSTR("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"") ;
  JSTR("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"") ;
  JSTR("nul\0here", "\"nul\\u0000here\"") ;
  JSTR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"") ;
  JSTR("\xff", "\"\\ufffd\"") ;
  JSTR("\xc3", "\"\\ufffd\"") ;                     /* cut short */
  JSTR("\xc0\xaf", "\"\\ufffd\\ufffd\"") ;          /* overlong */
  JSTR("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"") ;  /* a surrogate */
  JSTR("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"") ;  /* above U+10FFFF */
  JSTR("\xe2\x82x", "\"\\ufffd\\ufffdx\"") ;
  JSTR("", "\"\"") ;
}

static void test_report (void)
{
  static char const day[] =
    "5\texample.org\tsts\tid1\tmx2.example.org\t192.0.2.2\t198.51.100.9\tcertificate-expired\texpired\n"
    "1\texample.org\tsts\tid1\tmx1.example.org\t192.0.2.1\t198.51.100.9\tsuccess\t\n"
    "2\texample.org\tsts\tid1\tmx1.example.org\t192.0.2.1\t198.51.100.9\tsuccess\t\n"
    "3\texample.org\tsts\told\tmx1.example.org\t192.0.2.1\t198.51.100.9\tsuccess\t\n"
    "4\texample.org\tsts\tid1\tmx2.example.org\t192.0.2.2\t198.51.100.9\tcertificate-expired\texpired\n"
    "6\texample.org\ttlsa\t3 1 1 aa,3 1 1 bb\tmx3.example.org\t192.0.2.3\t\tsuccess\t\n"
    "7\texample.org\tno-policy-found\t\tmx4.example.org\t192.0.2.4\t198.51.100.9\tstarttls-not-supported\t\n" ;
  static char const cache[] = "ferry-mtasts 1\nid id1\nfetched 1700000000\n\nversion: STSv1\r\nmode: testing\r\nmx: mx1.example.org\r\nmx:*.example.org \r\nmax_age: 86400\r\n" ;
  static char const want[] =
    "{\"organization-name\":\"Org \\\"Q\\\"\",\"date-range\":{\"start-datetime\":\"2024-05-01T00:00:00Z\",\"end-datetime\":\"2024-05-01T23:59:59Z\"},"
    "\"contact-info\":\"tls@ferry.test\",\"report-id\":\"R1\",\"policies\":["
    "{\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\":\"example.org\"},"
    "\"summary\":{\"total-successful-session-count\":0,\"total-failure-session-count\":1},"
    "\"failure-details\":[{\"result-type\":\"starttls-not-supported\",\"sending-mta-ip\":\"198.51.100.9\",\"receiving-mx-hostname\":\"mx4.example.org\",\"receiving-ip\":\"192.0.2.4\",\"failed-session-count\":1}]},"
    "{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\",\"mode: testing\",\"mx: mx1.example.org\",\"mx:*.example.org\",\"max_age: 86400\"],"
    "\"policy-domain\":\"example.org\",\"mx-host\":[\"mx1.example.org\",\"*.example.org\"]},"
    "\"summary\":{\"total-successful-session-count\":2,\"total-failure-session-count\":2},"
    "\"failure-details\":[{\"result-type\":\"certificate-expired\",\"sending-mta-ip\":\"198.51.100.9\",\"receiving-mx-hostname\":\"mx2.example.org\",\"receiving-ip\":\"192.0.2.2\",\"failed-session-count\":2,\"failure-reason-code\":\"expired\"}]},"
    "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"example.org\"},"
    "\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":0}},"
    "{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":[\"3 1 1 aa\",\"3 1 1 bb\"],\"policy-domain\":\"example.org\",\"mx-host\":[\"mx3.example.org\"]},"
    "\"summary\":{\"total-successful-session-count\":1,\"total-failure-session-count\":0}}]}" ;
  char buf[sizeof(day)] ;
  report_line v[7] ;
  size_t pos = 0, n = 0 ;
  char id[33] ;
  stralloc sa = STRALLOC_ZERO ;
  report_totals t ;
  ferry_sts_policy pol = FERRY_STS_POLICY_ZERO ;
  report_meta m = { .org = "Org \"Q\"", .contact = "tls@ferry.test", .id = "R1", .day = "2024-05-01" } ;
  memcpy(buf, day, sizeof(day)) ;
  while (pos < sizeof(day) - 1)
  {
    char *nl = strchr(buf + pos, '\n') ;
    char const *why ;
    CHECK(report_line_parse(buf + pos, nl - buf - pos, v + n, &why), "line %u", (unsigned int)n + 1) ;
    v[n].lineno = n + 1 ;
    n++ ;
    pos = nl - buf + 1 ;
  }
  qsort(v, n, sizeof(report_line), &report_line_cmp) ;
  {
    stralloc why = STRALLOC_ZERO ;
    uint64_t fetched ;
    CHECK(ferry_sts_cache_parse(cache, sizeof(cache) - 1, id, &fetched, &m.stsbody, &m.stsbodylen, &pol, &why) == 1 && !strcmp(id, "id1"), "the cache file: %s", why.len ? why.s : "") ;
    stralloc_free(&why) ;
  }
  m.stsid = id ;
  m.stsmx = pol.mx.s ;
  m.stsnmx = pol.nmx ;
  CHECK(report_json(&sa, &m, v, n, &t) && stralloc_0(&sa), "the report") ;
  CHECK(!strcmp(sa.s, want), "the report:\n got %s\nwant %s", sa.s, want) ;
  CHECK(t.ok == 4 && t.failed == 3 && t.policies == 4, "its totals: %llu %llu %u", (unsigned long long)t.ok, (unsigned long long)t.failed, t.policies) ;
  ferry_sts_policy_free(&pol) ;
  stralloc_free(&sa) ;
}

static char const *mailto (char const *uri, int *k)
{
  static stralloc sa = STRALLOC_ZERO ;
  size_t i ;
  sa.len = 0 ;
  *k = report_mailto(uri, &sa) ;
  for (i = 0 ; i < sa.len ; i++) if (!sa.s[i]) sa.s[i] = '|' ;
  if (!stralloc_0(&sa)) return "(nomem)" ;
  return sa.s ;
}

static void test_mailto (void)
{
  int k ;
  char const *got = mailto("mailto:tlsrpt@example.org", &k) ;
  CHECK(k == 1 && !strcmp(got, "tlsrpt@example.org|"), "plain: %d %s", k, got) ;
  got = mailto("MAILTO:tls%2Brpt%40x@example.org?subject=hi", &k) ;
  CHECK(k == 1 && !strcmp(got, "tls+rpt@x@example.org|"), "escapes, a query: %d %s", k, got) ;
  got = mailto("mailto:a@example.org%2Cb@example.net", &k) ;
  CHECK(k == 2 && !strcmp(got, "a@example.org|b@example.net|"), "two addresses: %d %s", k, got) ;
  got = mailto("mailto:a%0Ab@example.org", &k) ;
  CHECK(k == 0, "a newline: %d %s", k, got) ;
  got = mailto("mailto:a%20b@example.org", &k) ;
  CHECK(k == 0, "a space: %d", k) ;
  got = mailto("mailto:a@example.org%2", &k) ;
  CHECK(k == 0, "a cut escape: %d", k) ;
  got = mailto("mailto:nobody", &k) ;
  CHECK(k == 0, "no @: %d", k) ;
  got = mailto("https://example.org/tlsrpt", &k) ;
  CHECK(k == 0, "https: %d", k) ;
}

static void test_gzip_mail (void)
{
  static char const json[] = "{\"policies\":[]}" ;
  stralloc gz = STRALLOC_ZERO, msg = STRALLOC_ZERO ;
  char out[100] ;
  uLongf outlen = sizeof(out) ;
  z_stream z ;
  CHECK(report_gzip(&gz, json, sizeof(json) - 1), "gzip") ;
  CHECK(gz.len > 18 && (unsigned char)gz.s[0] == 0x1f && (unsigned char)gz.s[1] == 0x8b, "a gzip header") ;
  memset(&z, 0, sizeof(z)) ;
  CHECK(inflateInit2(&z, 31) == Z_OK, "inflateInit2") ;
  z.next_in = (Bytef *)gz.s ; z.avail_in = gz.len ;
  z.next_out = (Bytef *)out ; z.avail_out = outlen ;
  CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == sizeof(json) - 1 && !memcmp(out, json, sizeof(json) - 1), "gunzips to the same") ;
  inflateEnd(&z) ;
  {
    char const *to[2] = { "a@example.org", "b@example.org" } ;
    report_totals t = { .ok = 3, .failed = 1, .policies = 1 } ;
    report_mail m = { .from = "tls-reports@ferry.test", .to = to, .nto = 2, .domain = "example.org", .submitter = "ferry.test",
      .id = "2024-05-01.00ff.example.org@ferry.test", .unique = "00ff", .day = "2024-05-01", .start = 1714521600, .now = 1714608000, .totals = &t } ;
    CHECK(report_mail_compose(&msg, &m, gz.s, gz.len) && stralloc_0(&msg), "the message") ;
    CHECK(strstr(msg.s, "From: <tls-reports@ferry.test>\nTo: <a@example.org>,\n <b@example.org>\n") == msg.s, "From: and To: first: %s", msg.s) ;
    CHECK(strstr(msg.s, "\nSubject: Report Domain: example.org\n Submitter: ferry.test\n Report-ID: <2024-05-01.00ff.example.org@ferry.test>\n") != 0, "Subject:") ;
    CHECK(strstr(msg.s, "\nTLS-Report-Domain: example.org\nTLS-Report-Submitter: ferry.test\n") != 0, "the TLS-Report- fields") ;
    CHECK(strstr(msg.s, "\nDate: Thu, 2 May 2024 00:00:00 +0000\n") != 0, "Date:") ;
    CHECK(strstr(msg.s, "\nContent-Type: multipart/report; report-type=\"tlsrpt\";\n\tboundary=\"") != 0, "multipart/report") ;
    CHECK(strstr(msg.s, "filename=\"ferry.test!example.org!1714521600!1714607999!00ff.json.gz\"\n\n") != 0, "the file name") ;
    CHECK(strstr(msg.s, "3 successful and 1 failed sessions under 1 policy.") != 0, "the text") ;
  }
  stralloc_free(&gz) ;
  stralloc_free(&msg) ;
}

int main (void)
{
  test_days() ;
  test_lines() ;
  test_json_string() ;
  test_report() ;
  test_mailto() ;
  test_gzip_mail() ;
  return UNIT_END() ;
}
