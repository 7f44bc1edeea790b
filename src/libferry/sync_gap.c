/* ferry_syncgap: two syncs of a program start at least FERRY_SYNCGAP_MS apart (ferry/syncgap.h). */

#include <ferry/syncgap.h>

int ferry_syncgap_due (ferry_syncgap const *g)
{
  return !tain_less(&STAMP, &g->next) ;
}

void ferry_syncgap_start (ferry_syncgap *g)
{
  tain gap ;
  tain_now_g() ;
  tain_from_millisecs(&gap, FERRY_SYNCGAP_MS) ;
  tain_add(&g->next, &STAMP, &gap) ;
}

void ferry_syncgap_deadline (ferry_syncgap const *g, tain *deadline)
{
  if (tain_less(&g->next, deadline)) *deadline = g->next ;
}
