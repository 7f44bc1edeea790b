"""A stand-in for an SMTP front end such as qmail-smtpd, run by tcpserver (stdin and stdout the
connection): HELO, MAIL, RCPT, DATA, QUIT, then the message and envelope handed to the program
that $QMAILQUEUE names, message on its fd 0 and envelope on its fd 1, as qmail-smtpd does. Its
exit code decides the reply: 0 is 250, anything else a 451 naming the code."""

import os
import subprocess
import sys

inp = sys.stdin.buffer
out = sys.stdout.buffer


def say(line):
    out.write(line.encode() + b"\r\n")
    out.flush()


def queue(message, sender, rcpts):
    env = b"F" + sender + b"\0" + b"".join(b"T" + r + b"\0" for r in rcpts) + b"\0"
    r, w = os.pipe()
    os.write(w, env)
    os.close(w)
    p = subprocess.run([os.environ["QMAILQUEUE"]], input=message, stdout=r, stderr=subprocess.PIPE)
    os.close(r)
    return p.returncode, p.stderr.decode(errors="replace").strip()


say("220 front ESMTP")
sender, rcpts = None, []
while True:
    line = inp.readline()
    if not line:
        break
    cmd = line.strip()
    verb = cmd[:4].upper()
    if verb in (b"HELO", b"EHLO"):
        say("250 front")
    elif verb == b"MAIL":
        sender, rcpts = cmd.split(b":", 1)[1].strip().strip(b"<>"), []
        say("250 ok")
    elif verb == b"RCPT":
        rcpts.append(cmd.split(b":", 1)[1].strip().strip(b"<>"))
        say("250 ok")
    elif verb == b"DATA":
        say("354 go ahead")
        body = b""
        while True:
            line = inp.readline()
            if not line or line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]
            body += line.replace(b"\r\n", b"\n")
        code, err = queue(b"Received: from front by qq_front\n" + body, sender, rcpts)
        say("250 ok queued" if code == 0 else "451 qq exited %d: %s" % (code, err.replace("\n", " ")[:200]))
    elif verb == b"QUIT":
        say("221 bye")
        break
    else:
        say("502 unimplemented")
