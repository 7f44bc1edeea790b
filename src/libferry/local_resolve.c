/* ferry_local_resolve: who gets a local recipient's mail (the mailboxes table, or a system user). */

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/cdb.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/control.h>
#include <ferry/local_resolve.h>
#include <ferry/sysusers.h>

static void lower (char *s, size_t n)
{
  for (; n ; n--, s++) if (*s >= 'A' && *s <= 'Z') *s += 'a' - 'A' ;
}


int ferry_local_ctx_load (ferry_local_ctx *ctx, stralloc *err)
{
  stralloc sa = STRALLOC_ZERO ;
  char cwd[4096] ;
  uint64_t u ;
  char const *failed = 0 ;
  err->len = 0 ;
  if (!getcwd(cwd, sizeof(cwd))) { failed = "the home's path" ; goto fail ; }
  ctx->home.len = 0 ;
  if (!stralloc_cats(&ctx->home, cwd) || !stralloc_0(&ctx->home)) { failed = "memory" ; goto fail ; }
  if (ferry_control_readline(&ctx->me, "me") < 0 || !stralloc_0(&ctx->me)) { failed = "control/me" ; goto fail ; }
  if (!ferry_control_readlist(&ctx->locals, "locals")) { failed = "control/locals" ; goto fail ; }
  if (!ferry_control_readlist(&ctx->virtualdomains, "virtualdomains")) { failed = "control/virtualdomains" ; goto fail ; }
  if (ferry_control_readfile(&ctx->defaultdelivery, "defaultdelivery") < 0) { failed = "control/defaultdelivery" ; goto fail ; }
  if (ferry_control_readline(&ctx->mailboxowner, "mailboxowner") < 0 || !stralloc_0(&ctx->mailboxowner)) { failed = "control/mailboxowner" ; goto fail ; }
  if (ferry_control_readline(&sa, "extseparator") < 0) { failed = "control/extseparator" ; goto fail ; }
  if (sa.len != 1 || sa.s[0] == '@' || (unsigned char)sa.s[0] <= 32)
  {
    stralloc_cats(err, "bad value in control/extseparator: it must be one printable character other than @") ;
    goto end ;
  }
  ctx->separator = sa.s[0] ;
  switch (ferry_control_readu64("timeoutprogram", &u))
  {
    case -1 : failed = "control/timeoutprogram" ; goto fail ;
    case -2 : stralloc_cats(err, "bad value in control/timeoutprogram: it must be one number from 1 to 86400") ; goto end ;
  }
  ctx->timeoutprogram = u ;
  ctx->root = !geteuid() ;
  ctx->uidmin = ferry_sysusers_uidmin() ;
  if (ctx->havecdb) { cdb_free(&ctx->mailboxes) ; ctx->havecdb = 0 ; }
  ctx->cdbino = 0 ;
  if (!ferry_local_ctx_refresh(ctx)) { failed = "control/mailboxes.cdb" ; goto fail ; }
  stralloc_free(&sa) ;
  return 1 ;
 fail:
  {
    int e = errno ;
    stralloc_cats(err, "unable to read ") ;
    stralloc_cats(err, failed) ;
    stralloc_cats(err, ": ") ;
    stralloc_cats(err, strerror(e)) ;
  }
 end:
  stralloc_free(&sa) ;
  return 0 ;
}

int ferry_local_ctx_refresh (ferry_local_ctx *ctx)
{
  struct stat st ;
  if (stat("control/mailboxes.cdb", &st) < 0)
  {
    if (errno != ENOENT) return 0 ;
    if (ctx->havecdb) { cdb_free(&ctx->mailboxes) ; ctx->havecdb = 0 ; }
    return 1 ;
  }
  if (ctx->havecdb && st.st_dev == ctx->cdbdev && st.st_ino == ctx->cdbino) return 1 ;
  if (ctx->havecdb) { cdb_free(&ctx->mailboxes) ; ctx->havecdb = 0 ; }
  if (!cdb_init(&ctx->mailboxes, "control/mailboxes.cdb")) return errno == ENOENT ;
  ctx->havecdb = 1 ;
  ctx->cdbdev = st.st_dev ;
  ctx->cdbino = st.st_ino ;
  return 1 ;
}

void ferry_local_ctx_free (ferry_local_ctx *ctx)
{
  stralloc_free(&ctx->home) ;
  stralloc_free(&ctx->me) ;
  stralloc_free(&ctx->locals) ;
  stralloc_free(&ctx->virtualdomains) ;
  stralloc_free(&ctx->defaultdelivery) ;
  stralloc_free(&ctx->mailboxowner) ;
  if (ctx->havecdb) cdb_free(&ctx->mailboxes) ;
  ctx->havecdb = 0 ;
}


 /* All table records for key: "owner\0line" each; lines joined by \n into lines, the first owner
    into owner. Returns the number of records, -1 on a read error. */
static int table_get (ferry_local_ctx *ctx, char const *key, size_t keylen, stralloc *lines, stralloc *owner)
{
  cdb_find_state st = CDB_FIND_STATE_ZERO ;
  cdb_data data ;
  int n = 0 ;
  if (!ctx->havecdb) return 0 ;
  for (;;)
  {
    size_t k ;
    int r = cdb_findnext(&ctx->mailboxes, &data, key, keylen, &st) ;
    if (r < 0) return -1 ;
    if (!r) break ;
    k = byte_chr(data.s, data.len, 0) ;
    if (k == data.len) return -1 ;
    if (!n && !stralloc_catb(owner, data.s, k)) return -1 ;
    if (!stralloc_catb(lines, data.s + k + 1, data.len - k - 1) || !stralloc_catb(lines, "\n", 1)) return -1 ;
    n++ ;
  }
  return n ;
}

static int fields_set (ferry_local_target *t, char const *user, char const *home, char const *local, size_t locallen, char const *host, char const *ext, stralloc const *lines)
{
  t->sa.len = 0 ;
  t->user = t->sa.len ;
  if (!stralloc_cats(&t->sa, user) || !stralloc_0(&t->sa)) return 0 ;
  t->home = t->sa.len ;
  if (!stralloc_cats(&t->sa, home) || !stralloc_0(&t->sa)) return 0 ;
  t->local = t->sa.len ;
  if (!stralloc_catb(&t->sa, local, locallen) || !stralloc_0(&t->sa)) return 0 ;
  t->host = t->sa.len ;
  if (!stralloc_cats(&t->sa, host) || !stralloc_0(&t->sa)) return 0 ;
  t->ext = t->sa.len ;
  if (!stralloc_cats(&t->sa, ext) || !stralloc_0(&t->sa)) return 0 ;
  t->lines = t->sa.len ;
  if (!stralloc_catb(&t->sa, lines->s, lines->len) || !stralloc_0(&t->sa)) return 0 ;
  return 1 ;
}

static char fail (stralloc *err, char status, char const *a, char const *b, char const *c)
{
  err->len = 0 ;
  if (!stralloc_cats(err, a) || !stralloc_cats(err, b) || !stralloc_cats(err, c)) return 'Z' ;
  return status ;
}

static char owner_set (ferry_local_ctx *ctx, ferry_local_target *t, char const *owner, char const *rcpt, stralloc *err)
{
  struct passwd *pw ;
  if (!ctx->root)
  {
    t->become = 0 ;
    t->uid = getuid() ;
    t->gid = getgid() ;
    return 'K' ;
  }
  if (!*owner) owner = ctx->mailboxowner.s ;
  if (!*owner) return fail(err, 'Z', "no owner for ", rcpt, ": name one in control/mailboxes or set control/mailboxowner") ;
  errno = 0 ;
  pw = getpwnam(owner) ;
  if (!pw) return fail(err, 'Z', "owner ", owner, errno ? ": unable to look up the user" : ": no such user") ;
  if (!pw->pw_uid) return fail(err, 'Z', "refusing to deliver as root for ", rcpt, ": give the line another owner") ;
  if (ferry_sysusers_ferry(pw->pw_name))
  {
    err->len = 0 ;
    if (!stralloc_cats(err, "refusing to deliver as ") || !stralloc_cats(err, pw->pw_name)
     || !stralloc_cats(err, ", one of ferry's own users, for ") || !stralloc_cats(err, rcpt)
     || !stralloc_cats(err, ": give the line another owner")) return 'Z' ;
    return 'Z' ;
  }
  t->become = 1 ;
  t->uid = pw->pw_uid ;
  t->gid = pw->pw_gid ;
  return 'K' ;
}

 /* The table: local@host, then user@host without the extension, then @host. */
static int table_lookup (ferry_local_ctx *ctx, stralloc *key, size_t locallen, size_t *extpos, stralloc *lines, stralloc *owner)
{
  size_t at = locallen ;
  size_t sep ;
  int r = table_get(ctx, key->s, key->len, lines, owner) ;
  *extpos = 0 ;
  if (r) return r ;
  sep = byte_chr(key->s, locallen, ctx->separator) ;
  if (sep < locallen)
  {
    stralloc k2 = STRALLOC_ZERO ;
    if (!stralloc_catb(&k2, key->s, sep) || !stralloc_catb(&k2, key->s + at, key->len - at)) { stralloc_free(&k2) ; return -1 ; }
    r = table_get(ctx, k2.s, k2.len, lines, owner) ;
    stralloc_free(&k2) ;
    if (r) { *extpos = sep + 1 ; return r ; }
  }
  return table_get(ctx, key->s + at, key->len - at, lines, owner) ;
}

char ferry_local_resolve (ferry_local_ctx *ctx, char const *rcpt, ferry_local_target *t, stralloc *err)
{
  stralloc key = STRALLOC_ZERO, lines = STRALLOC_ZERO, owner = STRALLOC_ZERO ;
  size_t len = strlen(rcpt) ;
  size_t at = byte_rchr(rcpt, len, '@') ;
  size_t extpos ;
  int invirtual, inlocals, r ;
  char status = 'Z' ;
  char const *host ;
  /* key: lower(local@host); an address without @ is at control/me */
  if (!stralloc_catb(&key, rcpt, at) || !stralloc_catb(&key, "@", 1)) goto nomem ;
  if (at < len) { if (!stralloc_catb(&key, rcpt + at + 1, len - at - 1)) goto nomem ; }
  else if (!stralloc_cats(&key, ctx->me.s)) goto nomem ;
  lower(key.s, key.len) ;
  if (!stralloc_0(&key)) goto nomem ;
  key.len-- ;
  host = key.s + at + 1 ;
  invirtual = ferry_control_listed(&ctx->virtualdomains, key.s + at + 1, key.len - at - 1) ;
  inlocals = ferry_control_listed(&ctx->locals, key.s + at + 1, key.len - at - 1) ;
  if (!invirtual && !inlocals)
  {
    err->len = 0 ;
    status = stralloc_cats(err, "5.1.2 not a local domain: ") && stralloc_cats(err, host) ? 'D' : 'Z' ;
    goto end ;
  }

  /* the mailboxes table first: all of a virtual domain, aliases for a local one */
  r = table_lookup(ctx, &key, at, &extpos, &lines, &owner) ;
  if (r < 0) { status = fail(err, 'Z', "unable to read control/mailboxes.cdb", "", "") ; goto end ; }
  if (r)
  {
    char ext[at + 1] ;
    size_t n = extpos ? at - extpos : 0 ;
    memcpy(ext, key.s + extpos, n) ; ext[n] = 0 ;
    if (!stralloc_0(&owner)) goto nomem ;
    t->kind = 'v' ;
    status = owner_set(ctx, t, owner.s, rcpt, err) ;
    if (status != 'K') goto end ;
    if (!fields_set(t, owner.s, "/", rcpt, at, host, ext, &lines)) goto nomem ;
    status = 'K' ;
    goto end ;
  }
  if (!inlocals)
  {
    err->len = 0 ;
    if (!stralloc_cats(err, "5.1.1 no mailbox here by that name: ") || !stralloc_cats(err, rcpt)) status = 'Z' ;
    else status = 'D' ;
    goto end ;
  }

  /* a system user: the whole local part, else the part before the separator */
  {
    struct passwd *pw ;
    size_t sep = byte_chr(key.s, at, ctx->separator) ;
    char user[at + 1] ;
    char const *ext = "" ;
    memcpy(user, key.s, at) ; user[at] = 0 ;
    errno = 0 ;
    pw = getpwnam(user) ;
    if (!pw && !errno && sep < at)
    {
      user[sep] = 0 ;
      ext = user + sep + 1 ;
      pw = getpwnam(user) ;
    }
    if (!pw)
    {
      if (errno) { status = fail(err, 'Z', "unable to look up user ", user, "") ; goto end ; }
      err->len = 0 ;
      if (!stralloc_cats(err, "5.1.1 no mailbox here by that name: ") || !stralloc_cats(err, rcpt)) status = 'Z' ;
      else status = 'D' ;
      goto end ;
    }
    if (!pw->pw_uid && ctx->root)
    {
      status = fail(err, 'D', "5.1.1 ferry never delivers as root: alias ", rcpt, " in control/mailboxes") ;
      goto end ;
    }
    if (ferry_sysusers_system(pw->pw_uid, pw->pw_name, ctx->uidmin))
    {
      /* daemon@, nobody@, ferryq@ ...: no one reads their mail there, and ferry runs nothing as them */
      err->len = 0 ;
      if (!stralloc_cats(err, "5.1.1 ") || !stralloc_cats(err, rcpt)
       || !stralloc_cats(err, " is a system account: no mail is delivered as it (alias it in control/mailboxes)")) status = 'Z' ;
      else status = 'D' ;
      goto end ;
    }
    t->kind = 'u' ;
    t->become = ctx->root ;
    t->uid = ctx->root ? pw->pw_uid : getuid() ;
    t->gid = ctx->root ? pw->pw_gid : getgid() ;
    lines.len = 0 ;
    if (!fields_set(t, pw->pw_name, pw->pw_dir, rcpt, at, host, ext, &lines)) goto nomem ;
    status = 'K' ;
  }
  goto end ;
 nomem:
  status = fail(err, 'Z', "out of memory", "", "") ;
 end:
  stralloc_free(&key) ;
  stralloc_free(&lines) ;
  stralloc_free(&owner) ;
  return status ;
}
