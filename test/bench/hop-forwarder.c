/*
 * The floor of a dispatcher hop in native code (bench only): hop-forwarder.ts in C against Debian's libzmq
 * (libzmq3-dev), built by the bench with gcc into a temp directory (native-hop.ts). Same worker protocol
 * (docs/dispatch-protocol.md), same behaviour: PULL from Mongrel2 -> ROUTER to workers within their credit, one
 * batch per worker per loop turn (everything readable is read before the batches go) -> reply entries to Mongrel2
 * through an XPUB. No bookkeeping; disconnect notices are dropped; a request with no free credit stays in Mongrel2
 * (the PULL is not polled while no worker has credit). Prints "hop.ready" once Mongrel2 subscribed and the worker
 * endpoint is bound.
 * Usage: hop-forwarder <send_spec> <recv_spec> <bind>
 */
#include <zmq.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#define MAX_PEERS 64
#define ENTRY 11
#define MAX_BATCH 256

typedef struct {
  unsigned char id[256];
  size_t id_len;
  long free;
  int used;
  /* this turn's batch */
  unsigned char *index;
  size_t index_len, index_cap;
  unsigned char *data;
  size_t data_len, data_cap;
  int entries;
} peer_t;

static peer_t peers[MAX_PEERS];
static int npeers = 0;
static uint32_t next_id = 1;
static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) { (void)sig; stopping = 1; }

static void grow(unsigned char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t c = *cap == 0 ? 4096 : *cap;
  while (c < need) c *= 2;
  *buf = realloc(*buf, c);
  if (*buf == NULL) { perror("realloc"); exit(1); }
  *cap = c;
}

static peer_t *find_peer(const void *id, size_t len) {
  for (int i = 0; i < npeers; i++)
    if (peers[i].used && peers[i].id_len == len && memcmp(peers[i].id, id, len) == 0) return &peers[i];
  return NULL;
}

static peer_t *most_free(void) {
  peer_t *best = NULL;
  for (int i = 0; i < npeers; i++)
    if (peers[i].used && peers[i].free > 0 && (best == NULL || peers[i].free > best->free)) best = &peers[i];
  return best;
}

static void put_u32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint32_t get_u32(const unsigned char *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static void give(peer_t *p, const void *frame, size_t len) {
  grow(&p->index, &p->index_cap, p->index_len + ENTRY);
  unsigned char *e = p->index + p->index_len;
  e[0] = 'Q';
  put_u32(e + 1, next_id++);
  e[5] = 0; e[6] = 0;
  put_u32(e + 7, (uint32_t)len);
  p->index_len += ENTRY;
  grow(&p->data, &p->data_cap, p->data_len + len);
  memcpy(p->data + p->data_len, frame, len);
  p->data_len += len;
  p->entries++;
  p->free--;
}

static void flush(void *router) {
  for (int i = 0; i < npeers; i++) {
    peer_t *p = &peers[i];
    if (!p->used || p->entries == 0) continue;
    zmq_send(router, p->id, p->id_len, ZMQ_SNDMORE);
    zmq_send(router, "B", 1, ZMQ_SNDMORE);
    zmq_send(router, p->index, p->index_len, ZMQ_SNDMORE);
    zmq_send(router, p->data, p->data_len, 0);
    p->index_len = p->data_len = 0;
    p->entries = 0;
  }
}

static int is_notice(const unsigned char *f, size_t len) {
  const unsigned char *sp1 = memchr(f, ' ', len);
  if (sp1 == NULL) return 0;
  const unsigned char *sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - f));
  return sp2 != NULL && sp2 + 1 < f + len && sp2[1] == '@';
}

/* Read one multipart message from the ROUTER (non-blocking); returns 0 when nothing was readable. */
static int worker_message(void *router, void *pub) {
  zmq_msg_t parts[4];
  int n = 0, more = 1;
  for (int i = 0; i < 4; i++) zmq_msg_init(&parts[i]);
  zmq_msg_t extra;
  zmq_msg_init(&extra);
  while (more) {
    zmq_msg_t *m = n < 4 ? &parts[n] : &extra;
    if (zmq_msg_recv(m, router, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
      for (int i = 0; i < 4; i++) zmq_msg_close(&parts[i]);
      zmq_msg_close(&extra);
      return 0;
    }
    more = zmq_msg_more(m);
    n++;
  }
  if (n >= 2 && zmq_msg_size(&parts[1]) == 1) {
    const void *id = zmq_msg_data(&parts[0]);
    size_t id_len = zmq_msg_size(&parts[0]);
    char cmd = *(const char *)zmq_msg_data(&parts[1]);
    peer_t *p = find_peer(id, id_len);
    if (cmd == 'H' && n >= 3) {
      char body[512];
      size_t bl = zmq_msg_size(&parts[2]) < sizeof body - 1 ? zmq_msg_size(&parts[2]) : sizeof body - 1;
      memcpy(body, zmq_msg_data(&parts[2]), bl);
      body[bl] = 0;
      const char *c = strstr(body, "\"capacity\":");
      long capacity = c == NULL ? 1 : atol(c + 11);
      if (p == NULL) {
        for (int i = 0; i < MAX_PEERS && p == NULL; i++) if (!peers[i].used) p = &peers[i];
        if (p == NULL || id_len > sizeof p->id) goto done;
        if (p - peers >= npeers) npeers = (int)(p - peers) + 1;
        memcpy(p->id, id, id_len);
        p->id_len = id_len;
        p->used = 1;
        p->index_len = p->data_len = 0;
        p->entries = 0;
      }
      p->free = capacity;
      static const char welcome[] = "{\"v\":1,\"servers\":1,\"ready\":true,\"heartbeatMs\":1000,\"instance\":\"c-hop\"}";
      zmq_send(router, id, id_len, ZMQ_SNDMORE);
      zmq_send(router, "W", 1, ZMQ_SNDMORE);
      zmq_send(router, welcome, sizeof welcome - 1, 0);
    } else if (cmd == 'B' && n == 4 && p != NULL) {
      const unsigned char *index = zmq_msg_data(&parts[2]);
      size_t index_len = zmq_msg_size(&parts[2]);
      const unsigned char *data = zmq_msg_data(&parts[3]);
      size_t at = 0, data_len = zmq_msg_size(&parts[3]);
      for (size_t e = 0; e + ENTRY <= index_len; e += ENTRY) {
        uint32_t len = get_u32(index + e + 7);
        if (index[e] == 'R') {
          if (at + len > data_len) break;
          zmq_send(pub, data + at, len, 0);
          at += len;
        } else if (index[e] == 'D') {
          p->free++;
        }
      }
    } else if (cmd == 'L') {
      if (p != NULL) p->free = -1000000000L;
      zmq_send(router, id, id_len, ZMQ_SNDMORE);
      zmq_send(router, "F", 1, 0);
    }
  }
done:
  for (int i = 0; i < 4; i++) zmq_msg_close(&parts[i]);
  zmq_msg_close(&extra);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: hop-forwarder <send_spec> <recv_spec> <bind>\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  void *ctx = zmq_ctx_new();
  void *pull = zmq_socket(ctx, ZMQ_PULL);
  void *pub = zmq_socket(ctx, ZMQ_XPUB);
  void *router = zmq_socket(ctx, ZMQ_ROUTER);
  int hwm = 100, zero = 0, big = 100000;
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(router, ZMQ_SNDHWM, &big, sizeof big);
  zmq_setsockopt(router, ZMQ_RCVHWM, &big, sizeof big);
  zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_connect(pull, argv[1]) != 0 || zmq_connect(pub, argv[2]) != 0) {
    fprintf(stderr, "connect: %s\n", zmq_strerror(zmq_errno()));
    return 1;
  }
  char sub[256];
  int sl = zmq_recv(pub, sub, sizeof sub, 0); /* Mongrel2's SUB: 0x01 + recv_ident */
  if (sl < 1 || sub[0] != 1) {
    fprintf(stderr, "no subscription from Mongrel2\n");
    return 1;
  }
  if (zmq_bind(router, argv[3]) != 0) {
    fprintf(stderr, "bind %s: %s\n", argv[3], zmq_strerror(zmq_errno()));
    return 1;
  }
  printf("hop.ready\n");
  fflush(stdout);
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (!stopping) {
    int credit = most_free() != NULL;
    zmq_pollitem_t items[2] = { { router, 0, ZMQ_POLLIN, 0 }, { pull, 0, ZMQ_POLLIN, 0 } };
    if (zmq_poll(items, credit ? 2 : 1, 1000) < 0) break;
    /* Everything readable now: replies and credit first, then requests within credit; then one batch per worker. */
    for (int i = 0; i < MAX_BATCH && worker_message(router, pub); i++) {}
    for (int i = 0; i < MAX_BATCH; i++) {
      peer_t *p = most_free();
      if (p == NULL) break;
      if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0) break;
      const unsigned char *f = zmq_msg_data(&msg);
      size_t len = zmq_msg_size(&msg);
      if (!is_notice(f, len)) give(p, f, len);
    }
    flush(router);
  }
  zmq_msg_close(&msg);
  zmq_close(pull);
  zmq_close(pub);
  zmq_close(router);
  zmq_ctx_term(ctx);
  return 0;
}
