"""ferry-tlsrpt, the daily TLS reports of RFC 8460: a day file of mixed results (MTA-STS sessions
that succeeded and failed in several ways, TLSA, no policy found; a domain whose TLSRPT record
sends reports by mail to a local address and to an https: URI, a domain without one, a domain with
two, a bad line) read with -n and parsed as JSON; then sent for real by the run the set's remote
channel makes at its start, the report delivered into a Maildir and taken apart with Python's email, gzip and json; the day moved
to tlsrpt/sent/, a second run sending nothing; a failed injection and a failed DNS lookup leave
the day; a domain already queued is not sent again. dnsmasq on loopback answers the TXT lookups."""

import calendar
import email
import email.policy
import gzip
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, s6_log, stop_all  # noqa: E402
from smtp_peers import Dnsmasq, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
ME = "ferry.test"
TLSRPT = os.path.join(H, "tlsrpt")
SENT = os.path.join(TLSRPT, "sent")


def day_of(days_ago):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400 * days_ago))


def day_start(day):
    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))


def tlsrpt(*args):
    """runs ferry-tlsrpt on the home: (exit code, stdout, stderr)"""
    p = subprocess.run([os.path.join(BIN, "ferry-tlsrpt")] + list(args) + [H], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def line(t, domain, typ, policy, mx, rip, sip, result, detail=""):
    return "\t".join([str(t), domain, typ, policy, mx, rip, sip, result, detail]) + "\n"


def messages(md):
    d = os.path.join(md, "new")
    return sorted(os.listdir(d))


def queue_empty():
    return not home.queue_files(("todo", "intd", "local", "remote", "mess", "pid"))


try:
    home.control("me", ME + "\n")
    home.control("tlsrptorg", "Ferry \"Test\" Org\n")
    md = home.catchall("reports.test")
    os.makedirs(TLSRPT, exist_ok=True)
    # in a file: dnsmasq reads quoted text (commas inside) only there
    conf = os.path.join(home.tmp, "dnsmasq.conf")
    with open(conf, "w") as f:
        # one record of two strings, joined: a mailto: with an escape, and an https: URI
        f.write('txt-record=_smtp._tls.sts.test,"v=TLSRPTv1; rua=mailto:tls%2Brpt@rep","orts.test,https://reports.example/v1"\n'
                'txt-record=_smtp._tls.two.test,"v=TLSRPTv1; rua=mailto:a@reports.test"\n'
                'txt-record=_smtp._tls.two.test,"v=TLSRPTv1; rua=mailto:b@reports.test"\n'
                'txt-record=_smtp._tls.other.test,"v=spf1 -all"\n')
    dns = Dnsmasq(["--conf-file=" + conf])
    stops.append(dns.stop)
    home.control("dnsservers", "127.0.0.1:%d\n" % dns.port)

    # the cached MTA-STS policy of sts.test, whose id the sts lines give
    os.makedirs(os.path.join(H, "mtasts"), exist_ok=True)
    with open(os.path.join(H, "mtasts", "sts.test"), "w") as f:
        f.write("ferry-mtasts 1\nid pol1\nfetched %d\n\nversion: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmx: *.mx.sts.test\r\nmax_age: 604800\r\n"
                % int(time.time()))

    day1 = day_of(1)
    t0 = day_start(day1) + 3600
    detail = 'certificate "has" expired \\ on \u00e9t\u00e9'
    text = "".join([
        line(t0, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"),
        line(t0 + 1, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"),
        line(t0 + 2, "sts.test", "sts", "pol1", "a.mx.sts.test", "192.0.2.2", "198.51.100.7", "certificate-expired", detail),
        line(t0 + 3, "sts.test", "sts", "pol1", "a.mx.sts.test", "192.0.2.2", "198.51.100.7", "certificate-expired", detail),
        line(t0 + 4, "sts.test", "sts", "pol1", "b.mx.sts.test", "192.0.2.3", "198.51.100.7", "certificate-host-mismatch", "hostname mismatch"),
        "this line\tdoes not parse\n",
        line(t0 + 5, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "starttls-not-supported"),
        line(t0 + 6, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"),
        line(t0 + 7, "sts.test", "tlsa", "3 1 1 0a0b0c,2 0 1 ffee", "dane.sts.test", "192.0.2.9", "198.51.100.7", "success"),
        line(t0 + 8, "sts.test", "tlsa", "3 1 1 0a0b0c,2 0 1 ffee", "dane.sts.test", "192.0.2.9", "198.51.100.7", "validation-failure", "no TLSA record matched"),
        line(t0 + 9, "sts.test", "no-policy-found", "", "mx.sts.test", "192.0.2.5", "198.51.100.7", "success"),
        line(t0 + 10, "nope.test", "sts", "other", "mx.nope.test", "192.0.2.6", "198.51.100.7", "sts-webpki-invalid", "unable to get local issuer certificate"),
        line(t0 + 11, "nope.test", "sts", "other", "mx.nope.test", "192.0.2.6", "198.51.100.7", "success"),
        line(t0 + 12, "two.test", "no-policy-found", "", "mx.two.test", "192.0.2.7", "", "success"),
        line(t0 + 13, "other.test", "no-policy-found", "", "mx.other.test", "192.0.2.8", "", "success"),
    ])
    # today's file is not reported (the day is not over)
    with open(os.path.join(TLSRPT, day1), "w") as f:
        f.write(text)
    with open(os.path.join(TLSRPT, day_of(0)), "w") as f:
        f.write(line(int(time.time()), "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "", "success"))

    # ---- -n: every domain's report on stdout, one JSON object per line; nothing sent or moved
    rc, out, err = tlsrpt("-n")
    expect(rc == 0, "ferry-tlsrpt -n exits 0", (rc, err))
    expect(re.search(r"ferry-tlsrpt: warning: tlsrpt/%s:6: line skipped: " % day1, err), "the bad line is skipped with a warning naming the file and line", err)
    reports = [json.loads(x) for x in out.splitlines()]
    expect(len(reports) == 4, "four reports, one per domain of the day (today's file left alone)", out)
    by = {r["policies"][0]["policy"]["policy-domain"]: r for r in reports}
    expect(sorted(by) == ["nope.test", "other.test", "sts.test", "two.test"], "one for each domain", sorted(by))
    r = by["sts.test"]
    expect(r["organization-name"] == 'Ferry "Test" Org' and r["contact-info"] == "tls-reports@" + ME,
           "organization-name from control/tlsrptorg, contact-info tls-reports@ control/me", (r["organization-name"], r["contact-info"]))
    expect(r["date-range"] == {"start-datetime": day1 + "T00:00:00Z", "end-datetime": day1 + "T23:59:59Z"}, "the UTC day as date-range", r["date-range"])
    expect(r["report-id"].startswith(day1 + ".") and r["report-id"].endswith(".sts.test@" + ME), "report-id: DAY.UNIQUE.DOMAIN@SUBMITTER", r["report-id"])
    pols = {p["policy"]["policy-type"]: p for p in r["policies"]}
    expect(len(r["policies"]) == 3 and sorted(pols) == ["no-policy-found", "sts", "tlsa"], "three policies: sts, tlsa, no-policy-found", r["policies"])
    sts = pols["sts"]
    expect(sts["policy"]["policy-string"] == ["version: STSv1", "mode: enforce", "mx: mx1.sts.test", "mx: *.mx.sts.test", "max_age: 604800"]
           and sts["policy"]["mx-host"] == ["mx1.sts.test", "*.mx.sts.test"] and sts["policy"]["policy-domain"] == "sts.test",
           "sts: policy-string and mx-host from the cached policy of the same id", sts["policy"])
    expect(sts["summary"] == {"total-successful-session-count": 3, "total-failure-session-count": 4}, "sts: 3 successful, 4 failed", sts["summary"])
    fd = {(d["result-type"], d["receiving-mx-hostname"]): d for d in sts["failure-details"]}
    expect(len(sts["failure-details"]) == 3, "three failure details", sts["failure-details"])
    e = fd.get(("certificate-expired", "a.mx.sts.test"), {})
    expect(e.get("failed-session-count") == 2 and e.get("receiving-ip") == "192.0.2.2" and e.get("sending-mta-ip") == "198.51.100.7"
           and e.get("failure-reason-code") == detail, "certificate-expired twice, with its addresses and its detail (quotes, backslash, UTF-8)", e)
    expect(fd.get(("certificate-host-mismatch", "b.mx.sts.test"), {}).get("failed-session-count") == 1, "certificate-host-mismatch once", fd)
    s = fd.get(("starttls-not-supported", "mx1.sts.test"), {})
    expect(s.get("failed-session-count") == 1 and "failure-reason-code" not in s, "starttls-not-supported once, no empty detail", s)
    tlsa = pols["tlsa"]
    expect(tlsa["policy"]["policy-string"] == ["3 1 1 0a0b0c", "2 0 1 ffee"] and tlsa["policy"]["mx-host"] == ["dane.sts.test"]
           and tlsa["summary"] == {"total-successful-session-count": 1, "total-failure-session-count": 1}
           and tlsa["failure-details"][0]["result-type"] == "validation-failure",
           "tlsa: the records, the MX host, 1 and 1, validation-failure", tlsa)
    npf = pols["no-policy-found"]
    expect(npf["summary"]["total-successful-session-count"] == 1 and "policy-string" not in npf["policy"] and "failure-details" not in npf,
           "no-policy-found: 1 successful, no policy-string, no failure-details", npf)
    n = by["nope.test"]["policies"]
    expect(len(n) == 1 and "policy-string" not in n[0]["policy"] and n[0]["summary"]["total-failure-session-count"] == 1,
           "an sts policy with no cache file: no policy-string, its counts", n)
    expect(os.path.exists(os.path.join(TLSRPT, day1)) and not (os.path.exists(SENT) and os.listdir(SENT)) and queue_empty(), "-n moved and queued nothing")

    # ---- for real: the set's remote channel runs ferry-tlsrpt at its start; its lines go to the log
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)

    def log():
        return s6_log(os.path.join(H, "log"))

    want = (r"ferry-tlsrpt: info: %s sts\.test: report (%s\.[0-9a-f]{16}\.sts\.test@%s) queued for <tls\+rpt@reports\.test> \(5 successful, 5 failed sessions\)"
            % (day1, day1, re.escape(ME)))
    expect(eventually(lambda: re.search(want, log()), 30), "the remote channel runs ferry-tlsrpt at start: the report is queued for the decoded mailto: address", log()[-1500:])
    expect(eventually(lambda: os.path.exists(os.path.join(SENT, day1)), 10), "and the day moves to tlsrpt/sent/", os.listdir(TLSRPT))
    err = log()
    rid = re.search(want, err).group(1)
    expect("ferry-tlsrpt: warning: tlsrpt/%s:6: line skipped: " % day1 in err, "the bad line is skipped there too", err[-1500:])
    expect("%s sts.test: rua https://reports.example/v1 skipped" % day1 in err, "the https: rua is skipped with a log line", err[-1500:])
    expect("%s nope.test: no report: no TXT record at _smtp._tls.nope.test" % day1 in err, "a domain without a TLSRPT record: no report", err[-1500:])
    expect("%s two.test: no report: more than one v=TLSRPTv1 record" % day1 in err, "a domain with two TLSRPT records: no report", err[-1500:])
    expect("%s other.test: no report: no v=TLSRPTv1 record" % day1 in err, "a domain whose TXT record is not TLSRPT: no report", err[-1500:])
    expect(eventually(lambda: len(messages(md)) == 1, 30), "the report is delivered into the Maildir", messages(md))
    with open(os.path.join(md, "new", messages(md)[0]), "rb") as f:
        m = email.message_from_bytes(f.read(), policy=email.policy.default)
    expect([a.addr_spec for a in m["From"].addresses] == ["tls-reports@" + ME] and [a.addr_spec for a in m["To"].addresses] == ["tls+rpt@reports.test"],
           "From: control/tlsrptfrom's default, To: the rua address", (m["From"], m["To"]))
    expect(" ".join(str(m["Subject"]).split()) == "Report Domain: sts.test Submitter: %s Report-ID: <%s>" % (ME, rid),
           "Subject: Report Domain: ... Submitter: ... Report-ID: <...>", m["Subject"])
    expect(m["TLS-Report-Domain"] == "sts.test" and m["TLS-Report-Submitter"] == ME and m["MIME-Version"] == "1.0",
           "TLS-Report-Domain, TLS-Report-Submitter, MIME-Version", (m["TLS-Report-Domain"], m["TLS-Report-Submitter"]))
    expect(m["Message-ID"] == "<%s>" % rid and m["Date"] is not None and m["Date"].datetime is not None, "Message-ID and Date", (m["Message-ID"], m["Date"]))
    expect(m.get_content_type() == "multipart/report" and m.get_param("report-type") == "tlsrpt", "multipart/report; report-type=tlsrpt", m["Content-Type"])
    parts = list(m.iter_parts())
    expect(len(parts) == 2 and parts[0].get_content_type() == "text/plain" and parts[1].get_content_type() == "application/tlsrpt+gzip",
           "two parts: text/plain, application/tlsrpt+gzip", [p.get_content_type() for p in parts])
    unique = rid.split(".")[1]
    start = day_start(day1)
    want_name = "%s!sts.test!%d!%d!%s.json.gz" % (ME, start, start + 86399, unique)
    expect(parts[1].get_filename() == want_name and parts[1]["Content-Transfer-Encoding"] == "base64",
           "the attachment: base64, named SUBMITTER!DOMAIN!BEGIN!END!UNIQUE.json.gz", parts[1].get_filename())
    mailed = json.loads(gzip.decompress(parts[1].get_payload(decode=True)))
    expect(mailed["report-id"] == rid, "the report's report-id is the one of the Subject", mailed["report-id"])
    expect(dict(mailed, **{"report-id": ""}) == dict(by["sts.test"], **{"report-id": ""}), "gunzipped, it is the report -n printed", mailed)
    expect(not os.path.exists(os.path.join(TLSRPT, day1)) and os.path.exists(os.path.join(SENT, day1)), "the day moved to tlsrpt/sent/")
    expect(os.path.exists(os.path.join(TLSRPT, day_of(0))), "today's file stays")
    expect(not [x for x in os.listdir(TLSRPT) if x.endswith(".queued")], "no progress file left")

    rc, out, err = tlsrpt()
    expect(rc == 0 and "queued" not in err, "a second run exits 0 and queues nothing", (rc, err))
    expect(eventually(queue_empty, 30) and len(messages(md)) == 1, "still one message in the Maildir", messages(md))
    rc, out, err = tlsrpt("-n", "-d", day1)
    expect(rc == 0 and len(out.splitlines()) == 4, "-n -d DAY prints a day already sent", (rc, err))
    rc, out, err = tlsrpt("-d", day1)
    expect(rc == 0 and "is already reported" in err, "-d DAY of a day sent: nothing more", (rc, err))
    rc, out, err = tlsrpt("-d", day_of(0))
    expect(rc == 100 and "is not over yet" in err, "-d today: refused (100)", (rc, err))

    # ---- a failed injection: the day stays, 111; once the queue takes it, it goes
    day2 = day_of(2)
    with open(os.path.join(TLSRPT, day2), "w") as f:
        f.write(line(day_start(day2) + 5, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"))
    home.control("databytes", "10\n")
    rc, out, err = tlsrpt()
    expect(rc == 111 and "unable to queue the report: the queue answered 33" in err and "the day stays" in err,
           "the queue refuses the report (databytes): exit 111, said", (rc, err))
    expect(os.path.exists(os.path.join(TLSRPT, day2)) and not os.path.exists(os.path.join(SENT, day2)), "the day stays in tlsrpt/")
    home.control("databytes", "10240000\n")
    rc, out, err = tlsrpt()
    expect(rc == 0 and "%s sts.test: report" % day2 in err and os.path.exists(os.path.join(SENT, day2)), "the next run sends it and moves the day", (rc, err))
    expect(eventually(lambda: len(messages(md)) == 2, 30), "the second report is delivered", messages(md))

    # ---- a domain whose report is already queued (tlsrpt/DAY.queued) is not sent again
    day3 = day_of(3)
    with open(os.path.join(TLSRPT, day3), "w") as f:
        f.write(line(day_start(day3) + 5, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"))
    with open(os.path.join(TLSRPT, day3 + ".queued"), "w") as f:
        f.write("sts.test\n")
    rc, out, err = tlsrpt()
    expect(rc == 0 and "queued for" not in err and os.path.exists(os.path.join(SENT, day3)) and not os.path.exists(os.path.join(TLSRPT, day3 + ".queued")),
           "a domain listed in DAY.queued is skipped; the day moves, the progress file goes", (rc, err))

    # ---- DNS failing: a recent day stays (111); one that ended more than 3 days ago is given up
    home.control("dnsservers", "127.0.0.1:%d\n" % free_port())
    for d in (day_of(2), day_of(6)):
        with open(os.path.join(TLSRPT, d), "w") as f:
            f.write(line(day_start(d) + 5, "sts.test", "sts", "pol1", "mx1.sts.test", "192.0.2.1", "198.51.100.7", "success"))
    os.rename(os.path.join(SENT, day2), os.path.join(SENT, day2 + ".old"))
    rc, out, err = tlsrpt()
    expect(rc == 111 and "%s sts.test: report deferred, the day stays: lookup of _smtp._tls.sts.test" % day2 in err, "a temporary DNS failure: deferred, 111", (rc, err))
    expect("%s sts.test: no report: " % day_of(6) in err and "given up" in err, "a day 6 days old: given up", err)
    expect(os.path.exists(os.path.join(TLSRPT, day2)) and os.path.exists(os.path.join(SENT, day_of(6))), "the recent day stays, the old one moved")

    # ---- sent days older than 30 days are removed
    old = day_of(40)
    open(os.path.join(SENT, old), "w").close()
    home.control("dnsservers", "127.0.0.1:%d\n" % dns.port)
    rc, out, err = tlsrpt()
    expect(rc == 0 and not os.path.exists(os.path.join(SENT, old)) and os.path.exists(os.path.join(SENT, day1)), "a sent day 40 days old is removed, a recent one kept", (rc, err))
    expect(eventually(lambda: len(messages(md)) == 3, 30), "and the deferred day's report is delivered", messages(md))
    print("all checks passed")
finally:
    stop_all(stops)
    home.cleanup()
