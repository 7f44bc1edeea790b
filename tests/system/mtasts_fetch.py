"""ferry-mtasts-fetch run by hand in a home made by ferry-setup, against MTA-STS policy servers
of tests/helpers/mtasts_peers.py (HTTPS on 127.0.0.1, certificates of a test CA) with dnsmasq
publishing the _mta-sts TXT records and mta-sts.DOMAIN -> 127.0.0.1: a policy stored, and each
way a fetch must fail without touching the policy stored before. Each case is a group of checks;
a failed check is reported and the next case still runs; the test fails if any check failed."""

import os
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import BIN, Cases, Home  # noqa: E402
from mtasts_peers import MtaStsServer  # noqa: E402
from smtp_peers import Dnsmasq  # noqa: E402
from tls_peers import TestCA  # noqa: E402

TIMEOUT = 3
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmx: *.mx.sts.test\r\nmax_age: 86400\r\n"
home = Home()
cases = Cases(home)
check, case = cases.check, cases.case
stoppers = []


def server(domain, policy=POLICY, mode="ok", names=None):
    """a policy server for domain, the port of control/mtastsport from now on"""
    s = MtaStsServer(ca, domain, policy, mode=mode, names=names)
    stoppers.append(s.stop)
    home.control("mtastsport", "%d\n" % s.port)
    return s


def fetch(domain, *extra, cwd=None):
    """ferry-mtasts-fetch DOMAIN run in the home (as ferry-spawn-remote runs it): (exit code,
    its log, seconds taken)"""
    start = time.time()
    r = subprocess.run([os.path.join(BIN, "ferry-mtasts-fetch"), domain] + list(extra), cwd=cwd or home.path,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr, time.time() - start


def cached(domain):
    try:
        return open(os.path.join(home.path, "mtasts", domain), "rb").read()
    except FileNotFoundError:
        return None


def one_line(log, domain, what):
    """the log is one line, "ferry-mtasts-fetch: DOMAIN: ..." """
    return log.count("\n") == 1 and log.startswith("ferry-mtasts-fetch: %s: %s" % (domain, what))


def mtasts_files():
    return sorted(os.listdir(os.path.join(home.path, "mtasts")))


try:
    ca = TestCA(os.path.join(home.tmp, "ca"))
    records = [
        "--txt-record=_mta-sts.sts.test,v=STSv1; id=first1",
        "--host-record=mta-sts.sts.test,127.0.0.1",
        # one record in two strings: joined
        "--txt-record=_mta-sts.split.test,v=STSv1; ,id=split2",
        "--host-record=mta-sts.split.test,127.0.0.1",
        "--txt-record=_mta-sts.nf.test,v=STSv1; id=nf1",
        "--host-record=mta-sts.nf.test,127.0.0.1",
        # two STSv1 records (and an unrelated one): no policy
        "--txt-record=_mta-sts.two.test,v=STSv1; id=a1",
        "--txt-record=_mta-sts.two.test,v=STSv1; id=b2",
        "--txt-record=_mta-sts.two.test,v=spf1 -all",
        "--host-record=mta-sts.two.test,127.0.0.1",
        "--txt-record=_mta-sts.badtxt.test,v=STSv1; id=not-an-id",
        "--host-record=mta-sts.badtxt.test,127.0.0.1",
        # no TXT record at all
        "--host-record=mta-sts.none.test,127.0.0.1",
    ]
    dns = Dnsmasq(records)
    stoppers.append(dns.stop)
    home.control("dnsservers", "127.0.0.1:%d\n" % dns.port)
    home.control("tlscafile", ca.pem + "\n")
    home.control("timeoutmtasts", "%d\n" % TIMEOUT)

    def dirs():
        for d in ("mtasts", "tlsrpt", "tlsrpt/sent"):
            st = os.stat(os.path.join(home.path, d))
            check(st.st_mode & 0o7777 == 0o700, "ferry-setup made %s/, mode 0700" % d, oct(st.st_mode))
    case("the home's directories", dirs)

    def stored():
        s = server("sts.test")
        before = int(time.time())
        rc, log, _ = fetch("STS.Test.")
        after = int(time.time())
        check(rc == 0, "a good policy: exit 0", (rc, log))
        check(log == "ferry-mtasts-fetch: sts.test: stored policy first1 (mode enforce, max_age 86400, 2 mx patterns)\n",
              "the log line says what was stored", log)
        data = cached("sts.test")
        head = b"ferry-mtasts 1\nid first1\nfetched "
        check(data is not None and data.startswith(head), "mtasts/sts.test (the domain lower-cased, no final dot) starts with its id", data)
        if data:
            rest = data[len(head):]
            t, _, body = rest.partition(b"\n\n")
            check(t.isdigit() and before <= int(t) <= after, "fetched: the time of the fetch", (t, before, after))
            check(body == POLICY.encode(), "then the policy body exactly as served", body)
        check(s.requests == 1 and s.paths == ["/.well-known/mta-sts.txt"] and s.hosts == ["mta-sts.sts.test:%d" % s.port],
              "one GET of /.well-known/mta-sts.txt with Host mta-sts.sts.test:PORT", (s.paths, s.hosts))
        check(mtasts_files() == ["sts.test"], "no temporary file left", mtasts_files())
        st = os.stat(os.path.join(home.path, "mtasts", "sts.test"))
        check(st.st_mode & 0o777 == 0o644, "the cache file's mode 0644", oct(st.st_mode))
        # run again, with the home as argument: replaced, a new time
        s.set_policy("version: STSv1\nmode: testing\nmx: mx.sts.test\nmax_age: 600\n")
        rc, log, _ = fetch("sts.test", home.path, cwd="/")
        check(rc == 0 and "stored policy first1 (mode testing, max_age 600, 1 mx pattern)" in log, "the home as argument: the new policy stored", (rc, log))
        check(cached("sts.test").endswith(b"\n\nversion: STSv1\nmode: testing\nmx: mx.sts.test\nmax_age: 600\n"), "the file replaced", cached("sts.test"))
        s.set_policy(POLICY)
        rc, log, _ = fetch("sts.test")
        check(rc == 0, "and back", log)
    case("a policy stored", stored)

    def split():
        server("split.test", policy="version: STSv1\nmode: none\nmax_age: 3600\n")
        rc, log, _ = fetch("split.test")
        check(rc == 0 and "stored policy split2 (mode none, max_age 3600, 0 mx patterns)" in log,
              "a TXT record of two strings is joined; mode none needs no mx", (rc, log))
    case("a record in two strings", split)

    def notfound():
        s = server("nf.test", mode="404")
        rc, log, _ = fetch("nf.test")
        check(rc == 100, "404: exit 100", (rc, log))
        check(one_line(log, "nf.test", "policy fetch failed: mta-sts.nf.test answered HTTP status 404"), "the log line", log)
        check(cached("nf.test") is None and s.requests == 1, "no file", mtasts_files())
    case("404", notfound)

    old = cached("sts.test")

    def failure(domain, mode, want_rc, want_log, what, names=None, policy=POLICY):
        s = server(domain, mode=mode, names=names, policy=policy)
        rc, log, took = fetch(domain)
        check(rc == want_rc, "%s: exit %d" % (what, want_rc), (rc, log))
        check(one_line(log, domain, "policy fetch failed: " + want_log), "%s: the log line" % what, log)
        check(cached("sts.test") == old, "%s: the stored policy is left as it was" % what, cached("sts.test"))
        check(mtasts_files() == ["split.test", "sts.test"], "%s: no other file" % what, mtasts_files())
        s.stop()
        return s, took

    case("a body over 64 KiB", lambda: failure("sts.test", "big", 100, "the policy: the body is larger than 65536 bytes", "big"))

    def unframed():
        # a body that ends at the close: taken when TLS says the close was the server's (close_notify)
        s = server("sts.test", mode="unframed")
        rc, log, _ = fetch("sts.test")
        check(rc == 0 and "stored policy first1" in log, "no Content-Length, the end said by close_notify: stored", (rc, log))
        s.stop()
        global old
        old = cached("sts.test")   # what the failures below must leave as it is
    case("a body that ends at a close TLS vouches for", unframed)
    case("a body cut by a close without close_notify",
         lambda: failure("sts.test", "cut", 111, "mta-sts.sts.test closed without TLS close_notify, and the response has neither Content-Length nor chunked coding: it may have been cut short", "cut"))

    def slow():
        _, took = failure("sts.test", "slow", 111, "timed out reading the response of mta-sts.sts.test", "slow")
        check(took < TIMEOUT + 2, "slow: ended within timeoutmtasts + 2 seconds (%.1f s)" % took, took)
        check(took >= TIMEOUT - 0.5, "slow: and only at timeoutmtasts (%.1f s)" % took, took)
    case("a server that dribbles", slow)

    def redirect():
        s, _ = failure("sts.test", "redirect", 100, "mta-sts.sts.test answered HTTP status 301, a redirect, not followed", "redirect")
        check(s.paths == ["/.well-known/mta-sts.txt"], "redirect: the new location was not asked for", s.paths)
    case("a redirect", redirect)

    case("a wrong media type", lambda: failure("sts.test", "wrongtype", 100, "the media type is text/html, not text/plain", "wrongtype"))
    case("a bad policy", lambda: failure("sts.test", "ok", 100, "a bad policy: no max_age field", "bad policy",
                                         policy="version: STSv1\nmode: enforce\nmx: mx.sts.test\n"))
    case("an HTML page as policy", lambda: failure("sts.test", "ok", 100, "a bad policy: line 1: not \"key: value\": <html>", "html policy",
                                                   policy="<html>\n<body>policy</body>\n</html>\n"))
    case("a certificate for another name", lambda: failure("sts.test", "ok", 111,
         "the certificate of mta-sts.sts.test did not verify: hostname mismatch", "wrong name", names=["mta-sts.other.test"]))

    def certificate_system_store():
        # without control/tlscafile the test CA is not trusted
        os.remove(os.path.join(home.path, "control", "tlscafile"))
        try:
            failure("sts.test", "ok", 111, "the certificate of mta-sts.sts.test did not verify: unable to get local issuer certificate", "system store")
        finally:
            home.control("tlscafile", ca.pem + "\n")
    case("the system's store does not know the test CA", certificate_system_store)

    def txt_problems():
        for domain, rc_want, log_want, what in (
                ("two.test", 100, "_mta-sts.two.test has 2 v=STSv1 TXT records, not one", "two STSv1 TXT records"),
                ("badtxt.test", 100, "the v=STSv1 TXT record at _mta-sts.badtxt.test is malformed", "a malformed STSv1 record"),
                ("none.test", 100, "no TXT record at _mta-sts.none.test", "no TXT record")):
            s = server(domain)
            rc, log, _ = fetch(domain)
            check(rc == rc_want and one_line(log, domain, "policy fetch failed: " + log_want), "%s: exit %d, said" % (what, rc_want), (rc, log))
            check(s.requests == 0 and cached(domain) is None, "%s: no fetch, no file" % what, s.requests)
            s.stop()
    case("the TXT record", txt_problems)

    def no_server():
        # nothing listens on the port: a temporary failure
        s = server("sts.test")
        s.stop()
        rc, log, _ = fetch("sts.test")
        check(rc == 111 and one_line(log, "sts.test", "policy fetch failed: unable to connect to mta-sts.sts.test[127.0.0.1]:%d: Connection refused" % s.port),
              "connection refused: 111", (rc, log))
        check(cached("sts.test") == old, "refused: the stored policy is left as it was")
    case("no server", no_server)

    def usage():
        rc, log, _ = fetch("bad/name")
        check(rc == 100 and one_line(log, "bad?name", "policy fetch failed: not a domain name"), "a bad domain: 100", (rc, log))
        r = subprocess.run([os.path.join(BIN, "ferry-mtasts-fetch")], cwd=home.path, capture_output=True, text=True)
        check(r.returncode == 100 and "usage" in r.stderr, "no argument: usage, 100", r.stderr)
    case("usage", usage)

    def root_install():
        # root runs it in a home made with ferry-setup -u: it becomes ferryr, whose the cache is
        if not ferrytest.is_root():
            print("# skipped: needs root", flush=True)
            return
        plain = home.path
        home.make_with_dedicated_users()
        for name in ("dnsservers", "tlscafile", "timeoutmtasts"):
            shutil.copy(os.path.join(plain, "control", name), os.path.join(home.path, "control", name))
        server("sts.test")
        rc, log, _ = fetch("sts.test")
        check(rc == 0 and "stored policy first1" in log, "root in a root install: stored", (rc, log))
        ferryr = pwd.getpwnam("ferryr")
        st = os.stat(os.path.join(home.path, "mtasts", "sts.test"))
        check(st.st_uid == ferryr.pw_uid and st.st_gid == ferryr.pw_gid, "the file is ferryr's", (st.st_uid, st.st_gid))
        st = os.stat(os.path.join(home.path, "mtasts"))
        check(st.st_uid == ferryr.pw_uid and st.st_mode & 0o7777 == 0o700, "mtasts/ is ferryr's, 0700", (st.st_uid, oct(st.st_mode)))
    case("a root install", root_install)
finally:
    ferrytest.stop_all(stoppers)
    home.cleanup()

cases.end()
