"""A DNSSEC world for the DANE tests, all on loopback, nothing shared with the system's services:
- DnssecWorld: zones written in zone-file syntax, signed with ldns-signzone (ECDSA P-256 keys of
  ldns-keygen, a KSK and a ZSK per zone), left unsigned, or signed and then made bogus (chosen
  RRSIGs corrupted, or every signature expired); served by a private nsd and resolved by a
  private validating unbound that trusts only the keys of the signed zones (no root, no other
  trust chain); .resolver is the unbound as "127.0.0.1:PORT";
- query(): one DNS query built by hand (the AD bit asked for), the reply's flags and records;
- tlsa_of(): the TLSA record data of a certificate ("3 1 1 HEX"), computed with the openssl command.
Run with /usr/bin/python3; `python3 dnssec_peers.py` checks the world and tlsa_of."""

import base64
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOOLS = ("nsd", "nsd-checkconf", "nsd-checkzone", "unbound", "unbound-checkconf", "ldns-keygen", "ldns-signzone", "openssl")

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "DS": 43, "RRSIG": 46,
         "NSEC": 47, "DNSKEY": 48, "TLSA": 52, "OPT": 41}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def missing_tools():
    """the programs of TOOLS not found on PATH (and in /usr/sbin, where Debian puts nsd and unbound)"""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [t for t in TOOLS if not shutil.which(t, path=path)]


def skip_unless_tools():
    """a test that needs the DNSSEC world ends here as skipped (exit 77) when a program of TOOLS is missing"""
    miss = missing_tools()
    if miss:
        print("skipped: not installed: %s (package/deps: nsd, unbound, ldnsutils)" % " ".join(miss))
        sys.exit(77)


def _which(t):
    return shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or t


def _run(args, cwd=None, input=None):
    r = subprocess.run(args, cwd=cwd, input=input, capture_output=True)
    if r.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.decode(errors="replace").strip()))
    return r.stdout


# ---------------------------------------------------------------- TLSA data of a certificate

def tlsa_of(certfile, usage, selector, mtype):
    """The TLSA record data of the first certificate in the PEM file certfile, in zone-file form:
    "USAGE SELECTOR MTYPE HEX" (lower-case hex), ready to follow "TLSA" in a record. selector 0:
    the whole certificate (DER), 1: its SubjectPublicKeyInfo (DER); mtype 0: that data itself,
    1: its SHA-256, 2: its SHA-512. The DER and the digests come from the openssl command."""
    if selector not in (0, 1) or mtype not in (0, 1, 2):
        raise ValueError("selector 0 or 1, matching type 0, 1 or 2")
    der = _run(["openssl", "x509", "-in", certfile, "-outform", "DER"])
    if selector == 1:
        pem = _run(["openssl", "x509", "-in", certfile, "-noout", "-pubkey"])
        der = _run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem)
    if mtype:
        der = _run(["openssl", "dgst", "-sha256" if mtype == 1 else "-sha512", "-binary"], input=der)
    return "%d %d %d %s" % (usage, selector, mtype, der.hex())


# ---------------------------------------------------------------- DNS messages by hand

def _wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            if len(label) > 63:
                raise ValueError("label too long: " + label)
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _read_name(msg, pos):
    """(name with a final dot, position after it); compression pointers followed, at most 64"""
    labels, end, hops = [], None, 0
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n == 0:
            return ".".join(labels) + ".", (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n


class RR:
    def __init__(self, name, rtype, ttl, rdata):
        self.name, self.rtype, self.ttl, self.rdata = name, rtype, ttl, rdata

    @property
    def type(self):
        return TYPE_NAMES.get(self.rtype, str(self.rtype))

    def __repr__(self):
        return "<%s %d %s %s>" % (self.name, self.ttl, self.type, self.rdata.hex()[:40])


class Reply:
    """a parsed reply: flags (qr aa tc rd ra ad cd), rcode (a number; .rcode_name), the records
    of the answer and authority sections (the OPT record left out)"""

    def __init__(self, msg):
        self.raw = msg
        qid, flags, qd, an, ns, ar = struct.unpack("!6H", msg[:12])
        self.id = qid
        self.qr, self.aa, self.tc = bool(flags & 0x8000), bool(flags & 0x0400), bool(flags & 0x0200)
        self.rd, self.ra, self.ad, self.cd = bool(flags & 0x0100), bool(flags & 0x0080), bool(flags & 0x0020), bool(flags & 0x0010)
        self.rcode = flags & 0xF
        pos = 12
        for _ in range(qd):
            _, pos = _read_name(msg, pos)
            pos += 4
        sections = []
        for count in (an, ns, ar):
            rrs = []
            for _ in range(count):
                name, pos = _read_name(msg, pos)
                rtype, _, ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
                pos += 10
                rrs.append(RR(name, rtype, ttl, msg[pos:pos + rdlen]))
                pos += rdlen
            sections.append(rrs)
        self.answer, self.authority = sections[0], sections[1]
        self.additional = [r for r in sections[2] if r.rtype != 41]

    @property
    def rcode_name(self):
        return RCODES.get(self.rcode, str(self.rcode))

    def records(self, rtype):
        return [r for r in self.answer if r.type == rtype]

    def __repr__(self):
        return "<reply %s%s%s answer=%r>" % (self.rcode_name, " AD" if self.ad else "", " AA" if self.aa else "", self.answer)


def query(server, name, rtype, ad=True, rd=True, do=False, timeout=5.0):
    """One query for name and type (a name of TYPES or a number) to server ("IP:PORT"), over UDP
    (again over TCP when the reply is truncated), with an EDNS0 record (1232 bytes, DO when do).
    ad: the AD bit set in the query, which asks a validating resolver to say whether the answer
    validated (RFC 6840 5.7). Returns a Reply; raises socket.timeout when no reply came in time."""
    host, port = server.rsplit(":", 1)
    qid = random.randrange(65536)
    flags = (0x0100 if rd else 0) | (0x0020 if ad else 0)
    code = TYPES[rtype] if isinstance(rtype, str) else rtype
    msg = struct.pack("!6H", qid, flags, 1, 0, 0, 1) + _wire_name(name) + struct.pack("!HH", code, 1)
    msg += b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000 if do else 0, 0)
    deadline = time.time() + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(msg, (host, int(port)))
        while True:
            s.settimeout(max(0.01, deadline - time.time()))
            data, _ = s.recvfrom(65535)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                break
    finally:
        s.close()
    reply = Reply(data)
    if not reply.tc:
        return reply
    t = socket.create_connection((host, int(port)), max(0.1, deadline - time.time()))
    try:
        t.settimeout(max(0.1, deadline - time.time()))
        t.sendall(struct.pack("!H", len(msg)) + msg)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            more = t.recv(65535)
            if not more:
                raise OSError("the server closed the TCP connection early")
            data += more
    finally:
        t.close()
    return Reply(data[2:])


# ---------------------------------------------------------------- the world

def free_port():
    """a port free on 127.0.0.1 for both UDP and TCP (a DNS server needs both)"""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def _proc_start(pid):
    """a process's start time (field 22 of /proc/PID/stat), None when it is gone: with the pid
    it names that process and no later one that reuses the pid"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _children(pid):
    """(pid, start time) of each child of pid"""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(d), fields[19]))
    return out


class Zone:
    def __init__(self, name, records, signed, bogus, ttl):
        self.name = name.rstrip(".").lower()
        self.records = list(records)
        self.signed = signed
        self.bogus = bogus
        self.ttl = ttl
        self.ds = []          # the DS records of its KSK, in zone-file form (the trust anchor)
        self.file = None      # the file nsd serves


class DnssecWorld:
    """Zones served by a private nsd and resolved by a private validating unbound, both on free
    loopback ports, their files under dir (a new temporary directory unless given; a directory
    made here is removed by stop()). Add zones, then start(); .resolver is then the unbound, as
    "127.0.0.1:PORT", and .nsd the nsd. stop() stops the two (and nsd's children) by PID."""

    def __init__(self, dir=None):
        self.own_dir = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="ferry-test-dnssec.")
        os.makedirs(self.dir, exist_ok=True)
        self.zones = []
        self.procs = {}       # name: Popen
        self.kids = []        # (pid, start time) of nsd's children
        self.resolver = self.nsd = None

    def add_zone(self, name, records, signed=True, bogus=False, ttl=300):
        """A zone: records are lines of zone-file syntax with names relative to the zone ("@ MX 10 mx",
        "mx A 127.0.0.1", "_25._tcp.mx TLSA 3 1 1 ab12..", a TTL may stand after the name); the SOA,
        an NS record (ns.NAME, 127.0.0.1) and $TTL ttl (also the TTL of negative answers) are
        added. signed: signed, its KSK a trust anchor of the unbound; unsigned, it has no trust
        anchor and validates as insecure. bogus (signed zones only): True, the signatures over every
        RRset but DNSKEY corrupted; "expired", the zone signed with signatures that expired in 2020;
        a type or a list of types ("TLSA", ("MX", "A")), the signatures over those RRsets corrupted
        (the other records still validate)."""
        if bogus and not signed:
            raise ValueError("only a signed zone can be bogus")
        z = Zone(name, records, signed, bogus, ttl)
        self.zones.append(z)
        return z

    # -- building

    def _zone_text(self, z):
        lines = ["$ORIGIN %s." % z.name, "$TTL %d" % z.ttl,
                 "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d" % (z.name, z.name, z.ttl),
                 "@ IN NS ns", "ns IN A 127.0.0.1"]
        return "\n".join(lines + list(z.records)) + "\n"

    def _build(self, z, zdir):
        base = os.path.join(zdir, z.name + ".zone")
        with open(base, "w") as f:
            f.write(self._zone_text(z))
        _run([_which("nsd-checkzone"), z.name, base])
        if not z.signed:
            z.file = base
            return
        kdir = os.path.join(zdir, "keys-" + z.name)
        os.makedirs(kdir, exist_ok=True)
        ksk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", z.name], cwd=kdir).decode().strip()
        zsk = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", z.name], cwd=kdir).decode().strip()
        with open(os.path.join(kdir, ksk + ".ds")) as f:
            z.ds = [l.strip() for l in f if l.strip() and not l.startswith(";")]
        if z.bogus == "expired":
            dates = ["-i", "20200101000000", "-e", "20200201000000"]
        else:
            now = int(time.time())
            dates = ["-i", str(now - 3600), "-e", str(now + 30 * 86400)]
        signed = base + ".signed"
        _run(["ldns-signzone", "-o", z.name, "-f", signed] + dates + [base, os.path.join(kdir, ksk), os.path.join(kdir, zsk)])
        if z.bogus and z.bogus != "expired":
            types = None if z.bogus is True else ({z.bogus} if isinstance(z.bogus, str) else set(z.bogus))
            self._corrupt(signed, types)
        z.file = signed

    @staticmethod
    def _corrupt(path, types):
        """flips one byte of the signature of each RRSIG over the given types (None: every type
        but DNSKEY) in a signed zone file of one record per line; at least one must be found"""
        out, hit = [], 0
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 13 and not line.startswith(";") and fields[3] == "RRSIG":
                    covered = fields[4].upper()
                    if (types is None and covered != "DNSKEY") or (types is not None and covered in types):
                        sig = bytearray(base64.b64decode("".join(fields[12:])))
                        sig[len(sig) // 2] ^= 0x5A
                        line = "\t".join(fields[:12] + [base64.b64encode(bytes(sig)).decode()]) + "\n"
                        hit += 1
                out.append(line)
        if not hit:
            raise RuntimeError("%s: no RRSIG over %s to corrupt" % (path, sorted(types) if types else "any type"))
        with open(path, "w") as f:
            f.writelines(out)

    def _nsd_conf(self, d, port):
        zones = "".join('zone:\n  name: "%s"\n  zonefile: "%s"\n' % (z.name, z.file) for z in self.zones)
        return ("server:\n"
                '  ip-address: 127.0.0.1@%d\n  port: %d\n  do-ip4: yes\n  do-ip6: no\n  reuseport: no\n  server-count: 1\n'
                '  username: ""\n  chroot: ""\n  zonesdir: "%s"\n  database: ""\n  pidfile: "%s/nsd.pid"\n'
                '  xfrdfile: "%s/xfrd.state"\n  zonelistfile: "%s/zone.list"\n  xfrdir: "%s"\n  logfile: "%s/nsd.log"\n'
                "  verbosity: 1\n  hide-version: yes\n"
                "remote-control:\n  control-enable: no\n" % (port, port, d, d, d, d, d, d)) + zones

    def _unbound_conf(self, d, port, nsd_port):
        # "." refused: a name outside the zones gets REFUSED at once, nothing is asked of the root
        # servers; each zone transparent, so that it is resolved through its stub (nsd)
        local = "".join('  local-zone: "%s." transparent\n' % z.name for z in self.zones)
        stubs = "".join('stub-zone:\n  name: "%s."\n  stub-addr: 127.0.0.1@%d\n' % (z.name, nsd_port) for z in self.zones)
        return ("server:\n"
                "  interface: 127.0.0.1@%d\n  port: %d\n  do-ip4: yes\n  do-ip6: no\n  do-udp: yes\n  do-tcp: yes\n"
                '  so-reuseport: no\n  num-threads: 1\n  chroot: ""\n  username: ""\n  directory: "%s"\n'
                '  pidfile: "%s/unbound.pid"\n  logfile: "%s/unbound.log"\n  use-syslog: no\n  log-time-ascii: yes\n'
                "  verbosity: 1\n  log-queries: yes\n  log-replies: yes\n  val-log-level: 2\n"
                "  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n"
                '  module-config: "validator iterator"\n  trust-anchor-file: "%s/anchors"\n'
                '  local-zone: "." refuse\n' % (port, port, d, d, d, d)
                + local + "remote-control:\n  control-enable: no\n" + stubs)

    def _spawn(self, name, args, logname, ready, limit=20):
        """starts one server, waits (at most limit seconds) until ready() is true: "ready", "exited"
        (say, its port was taken meanwhile) or "timeout"; the caller stops it when not ready"""
        err = open(os.path.join(self.dir, logname), "ab")
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()
        self.procs[name] = p
        deadline = time.time() + limit
        while True:
            if p.poll() is not None:
                break
            try:
                if ready():
                    return "ready"
            except (OSError, ValueError, IndexError, struct.error):
                pass
            if time.time() > deadline:
                return "timeout"
            time.sleep(0.05)
        return "exited"

    def start(self):
        """builds the zones and starts nsd and unbound; raises RuntimeError (with the logs) when
        either does not answer within 20 seconds, what it started then stopped"""
        if not self.zones:
            raise ValueError("no zone")
        try:
            self._start()
        except Exception:
            self._stop_procs()
            raise
        return self

    def _start(self):
        zdir = os.path.join(self.dir, "zones")
        ndir = os.path.join(self.dir, "nsd")
        udir = os.path.join(self.dir, "unbound")
        for d in (zdir, ndir, udir):
            os.makedirs(d, exist_ok=True)
        for z in self.zones:
            self._build(z, zdir)
        with open(os.path.join(udir, "anchors"), "w") as f:
            f.write("".join(ds + "\n" for z in self.zones for ds in z.ds))
        first = self.zones[0].name
        for attempt in range(3):     # a port taken between free_port() and the bind: try others
            nsd_port = free_port()
            conf = os.path.join(ndir, "nsd.conf")
            with open(conf, "w") as f:
                f.write(self._nsd_conf(ndir, nsd_port))
            _run([_which("nsd-checkconf"), conf])
            how = self._spawn("nsd", [_which("nsd"), "-d", "-c", conf], "nsd/nsd.stderr",
                              lambda: query("127.0.0.1:%d" % nsd_port, first, "SOA", ad=False, rd=False, timeout=0.5).aa)
            if how == "ready":
                break
            self._stop_one("nsd")
            if how == "timeout":
                raise RuntimeError("nsd does not serve %s within 20 s: %s" % (first, self.logs("nsd")[-3000:]))
        else:
            raise RuntimeError("nsd does not answer: " + self.logs("nsd")[-3000:])
        self.nsd = "127.0.0.1:%d" % nsd_port
        self.kids = _children(self.procs["nsd"].pid)
        for attempt in range(3):
            port = free_port()
            conf = os.path.join(udir, "unbound.conf")
            with open(conf, "w") as f:
                f.write(self._unbound_conf(udir, port, nsd_port))
            _run([_which("unbound-checkconf"), conf])
            # any reply will do: the name is outside the zones (REFUSED), no cache touched
            how = self._spawn("unbound", [_which("unbound"), "-d", "-c", conf], "unbound/unbound.stderr",
                              lambda: query("127.0.0.1:%d" % port, "ready.ferry-test", "A", timeout=0.5).qr)
            if how == "ready":
                break
            self._stop_one("unbound")
            if how == "timeout":
                raise RuntimeError("unbound does not answer within 20 s: " + self.logs("unbound")[-3000:])
        else:
            raise RuntimeError("unbound does not answer: " + self.logs("unbound")[-3000:])
        self.resolver = "127.0.0.1:%d" % port

    # -- looking at it

    def logs(self, which):
        """the log files of nsd or unbound, as text"""
        out = ""
        for f in ("%s/%s.log" % (which, which), "%s/%s.stderr" % (which, which)):
            try:
                out += open(os.path.join(self.dir, f), errors="replace").read()
            except OSError:
                pass
        return out

    def log_size(self):
        """the size of the unbound's log now: queries(since=...) counts only what came after"""
        try:
            return os.path.getsize(os.path.join(self.dir, "unbound", "unbound.log"))
        except OSError:
            return 0

    def queries(self, name, rtype, since=0):
        """how many queries for name and type the unbound received from its clients (its
        log-queries lines: "info: IP NAME. TYPE IN"), counting from byte since of its log"""
        try:
            with open(os.path.join(self.dir, "unbound", "unbound.log"), "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return 0
        pat = re.compile(r"info: 127\.0\.0\.1 %s\. %s IN$" % (re.escape(name.rstrip(".")), re.escape(rtype)), re.I | re.M)
        return len(pat.findall(text))

    # -- stopping

    def _stop_one(self, name):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def _stop_procs(self):
        self._stop_one("unbound")
        self._stop_one("nsd")
        deadline = time.time() + 10
        for pid, start in self.kids:
            while _proc_start(pid) == start and time.time() < deadline:
                time.sleep(0.05)
            if _proc_start(pid) == start:
                os.kill(pid, signal.SIGKILL)
        self.kids = []

    def stop(self):
        """stops the unbound and the nsd it started (by PID), then nsd's children still there (by
        PID, the same processes: their start time checked); removes the directory it made"""
        self._stop_procs()
        if self.own_dir and not os.environ.get("FERRY_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the world checked

def _der_spki(der):
    """the SubjectPublicKeyInfo of a DER certificate, found by walking its DER (the check of
    tlsa_of's openssl pipeline with code of its own)"""
    def tlv(buf, pos):
        tag, n = buf[pos], buf[pos + 1]
        pos += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[pos:pos + k], "big")
            pos += k
        return tag, pos, pos + n       # tag, start of contents, end
    _, c, _ = tlv(der, 0)              # Certificate
    _, p, _ = tlv(der, c)              # TBSCertificate: its contents
    if der[p] == 0xA0:                 # [0] version
        p = tlv(der, p)[2]
    for _ in range(5):                 # serial, signature, issuer, validity, subject
        p = tlv(der, p)[2]
    return der[p:tlv(der, p)[2]]


def _selfcheck():
    import hashlib
    import ssl
    from smtp_peers import listening

    def check(cond, what, detail=""):
        if not cond:
            raise SystemExit("FAILED: %s %s" % (what, detail))
        print("ok - " + what, flush=True)

    miss = missing_tools()
    if miss:
        print("skipped: not installed: " + " ".join(miss))
        raise SystemExit(77)
    w = DnssecWorld()
    servers = []
    try:
        # a CA and a server certificate it signs, for tlsa_of
        d = os.path.join(w.dir, "certs")
        os.makedirs(d)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(["openssl", "req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=check CA",
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], cwd=d)
        _run(["openssl", "req"] + ec + ["-keyout", "ee.key", "-out", "ee.csr", "-subj", "/CN=mx.signed.test"], cwd=d)
        with open(os.path.join(d, "ee.ext"), "w") as f:
            f.write("subjectAltName = DNS:mx.signed.test\nextendedKeyUsage = serverAuth\n")
        _run(["openssl", "x509", "-req", "-in", "ee.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
              "-days", "30", "-extfile", "ee.ext", "-out", "ee.pem"], cwd=d)
        ee, ca = os.path.join(d, "ee.pem"), os.path.join(d, "ca.pem")
        with open(os.path.join(d, "chain.pem"), "w") as f:
            f.write(open(ee).read() + open(ca).read())
        eeder = ssl.PEM_cert_to_DER_cert(open(ee).read())
        spki = _der_spki(eeder)
        want = {(0, 0): eeder, (0, 1): hashlib.sha256(eeder).digest(), (0, 2): hashlib.sha512(eeder).digest(),
                (1, 0): spki, (1, 1): hashlib.sha256(spki).digest(), (1, 2): hashlib.sha512(spki).digest()}
        for (sel, mt), data in sorted(want.items()):
            check(tlsa_of(ee, 3, sel, mt) == "3 %d %d %s" % (sel, mt, data.hex()), "tlsa_of 3 %d %d: the data of the certificate's own DER walk" % (sel, mt))
        cader = ssl.PEM_cert_to_DER_cert(open(ca).read())
        check(tlsa_of(ca, 2, 0, 1) == "2 0 1 " + hashlib.sha256(cader).hexdigest(), "tlsa_of 2 0 1: SHA-256 of the CA's DER")

        # OpenSSL's own DANE code agrees: s_client checks each record against a server with the chain
        port = free_port()
        srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", ee, "-key",
                                os.path.join(d, "ee.key"), "-cert_chain", ca, "-naccept", "100", "-quiet"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.append(srv)
        deadline = time.time() + 10
        while not listening(port) and time.time() < deadline:
            time.sleep(0.05)

        def dane(rr, host="mx.signed.test"):
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief", "-verify_return_error",
                                "-dane_tlsa_domain", host, "-dane_tlsa_rrdata", rr], input=b"", capture_output=True, timeout=20)
            out = (r.stdout + r.stderr).decode(errors="replace")
            return r.returncode == 0 and "Verification: OK" in out, out
        for rr in (tlsa_of(ee, 3, 1, 1), tlsa_of(ee, 3, 0, 1), tlsa_of(ee, 3, 1, 2), tlsa_of(ee, 3, 0, 0), tlsa_of(ca, 2, 0, 1), tlsa_of(ca, 2, 1, 1)):
            good, out = dane(rr)
            check(good, "openssl s_client -dane_tlsa_rrdata %s...: verified" % rr[:14], out[-400:])
        good, out = dane(tlsa_of(ca, 3, 1, 1))
        check(not good, "the CA's key as a DANE-EE record: not verified", out[-300:])
        good, out = dane(tlsa_of(ca, 2, 0, 1), host="other.test")
        check(not good, "DANE-TA for a name the certificate lacks: not verified", out[-300:])

        # the world
        tlsa = tlsa_of(ee, 3, 1, 1)
        std = ["@ MX 10 mx", "mx A 127.0.0.1", "_25._tcp.mx TLSA " + tlsa, '@ TXT "v=spf1 -all"']
        w.add_zone("signed.test", std)
        w.add_zone("insecure.test", std, signed=False)
        w.add_zone("bogus.test", std, bogus=True)
        w.add_zone("tlsabogus.test", std, bogus="TLSA")
        w.add_zone("expired.test", std, bogus="expired")
        w.start()
        check(w.resolver and w.resolver != w.nsd, "nsd at %s, unbound at %s" % (w.nsd, w.resolver))
        for z in ("signed.test", "tlsabogus.test"):
            r = query(w.nsd, z, "DNSKEY", ad=False, rd=False, do=True)
            check(r.aa and len(r.records("DNSKEY")) == 2 and r.records("RRSIG"), "nsd serves %s signed: 2 DNSKEYs and their RRSIG" % z, r)
        r = query(w.nsd, "insecure.test", "MX", ad=False, rd=False, do=True)
        check(r.aa and r.records("MX") and not r.records("RRSIG"), "nsd serves insecure.test unsigned", r)

        r = query(w.resolver, "signed.test", "MX")
        check(r.rcode == 0 and r.ad and r.records("MX"), "signed.test MX: NOERROR with AD", r)
        r = query(w.resolver, "mx.signed.test", "A")
        check(r.rcode == 0 and r.ad and r.records("A") and r.records("A")[0].rdata == bytes([127, 0, 0, 1]), "mx.signed.test A 127.0.0.1 with AD", r)
        r = query(w.resolver, "_25._tcp.mx.signed.test", "TLSA")
        t = r.records("TLSA")
        check(r.rcode == 0 and r.ad and t and t[0].rdata == bytes([3, 1, 1]) + bytes.fromhex(tlsa.split()[3]), "the TLSA record with AD, its data as written", r)
        check(t and t[0].ttl <= 300, "its TTL is the zone's (300 at most)", t)
        r = query(w.resolver, "mx.signed.test", "AAAA")
        check(r.rcode == 0 and r.ad and not r.answer, "no AAAA: NODATA with AD (proven by NSEC)", r)
        r = query(w.resolver, "_25._tcp.nothere.signed.test", "TLSA")
        check(r.rcode == 3 and r.ad, "a name not in it: NXDOMAIN with AD", r)
        r = query(w.resolver, "signed.test", "MX", ad=False)
        check(r.rcode == 0 and not r.ad, "without AD asked (and no DO): no AD in the reply", r)

        for name, rtype in (("insecure.test", "MX"), ("mx.insecure.test", "A"), ("_25._tcp.mx.insecure.test", "TLSA")):
            r = query(w.resolver, name, rtype)
            check(r.rcode == 0 and not r.ad and r.records(rtype), "insecure: %s %s answered, NOERROR without AD" % (name, rtype), r)
        for name, rtype in (("bogus.test", "MX"), ("mx.bogus.test", "A"), ("_25._tcp.mx.bogus.test", "TLSA"),
                            ("expired.test", "MX"), ("_25._tcp.mx.expired.test", "TLSA")):
            r = query(w.resolver, name, rtype)
            check(r.rcode == 2 and not r.answer, "bogus: %s %s: SERVFAIL" % (name, rtype), r)
        r = query(w.resolver, "tlsabogus.test", "MX")
        check(r.rcode == 0 and r.ad, "only the TLSA RRSIG corrupted: the MX still validates (AD)", r)
        r = query(w.resolver, "mx.tlsabogus.test", "A")
        check(r.rcode == 0 and r.ad, "and the A record", r)
        r = query(w.resolver, "_25._tcp.mx.tlsabogus.test", "TLSA")
        check(r.rcode == 2, "but the TLSA lookup: SERVFAIL", r)
        r = query(w.resolver, "example.com", "A")
        check(r.rcode == 5, "a name outside the zones: REFUSED at once", r)
        log = w.logs("unbound")
        check("validation failure" in log and "tlsabogus.test" in log, "the unbound's log tells the validation failures (val-log-level 2)", log[-600:])

        n = w.queries("_25._tcp.mx.signed.test", "TLSA")
        since = w.log_size()
        for _ in range(3):
            query(w.resolver, "_25._tcp.mx.signed.test", "TLSA")
        deadline = time.time() + 5
        while w.queries("_25._tcp.mx.signed.test", "TLSA", since) < 3 and time.time() < deadline:
            time.sleep(0.05)
        check(n == 1 and w.queries("_25._tcp.mx.signed.test", "TLSA", since) == 3, "the log counts the queries a client asked (1, then 3 more)",
              (n, w.queries("_25._tcp.mx.signed.test", "TLSA", since)))

        pids = [p.pid for p in w.procs.values()] + [k[0] for k in w.kids]
        starts = [_proc_start(p) for p in pids]
        d = w.dir
    finally:
        for s in servers:
            s.terminate()
            s.wait()
        w.stop()
    check(all(_proc_start(p) != s for p, s in zip(pids, starts)), "stop(): unbound, nsd and nsd's children (pids %s) are gone" % pids)
    check(not os.path.exists(d), "stop(): its directory removed")
    print("dnssec peers: all checks passed")


if __name__ == "__main__":
    _selfcheck()
