/*
 * WebSocket load client for the coroio benchmark suite, in C (epoll, one
 * thread), so that on a 2-core machine the client costs less CPU than the
 * server it measures. Same flags and same JSON output as bench/ws_load.ts;
 * the runner (bench/compare.ts) compiles it with `gcc -O2` and passes the
 * handshake key and the accept value it expects (so no SHA-1 here).
 *
 *   ws_load --url ws://127.0.0.1:PORT/PATH --key KEY --accept ACCEPT
 *           [--mode echo|idle] [--conns 50] [--inflight 1] [--size 32]
 *           [--binary] [--duration 5] [--json] [--deflate] [--pool 64]
 *
 * --json: text messages are --pool different JSON-like documents of exactly
 * --size bytes (records with ids, names, prices and words), sent in turn,
 * instead of one repeated run of letters.
 * --deflate: offers `permessage-deflate; client_no_context_takeover` and
 * fails the connection when the answer has no permessage-deflate. Each pool
 * message is deflated once at start-up with zlib (raw, 15-bit window, level 6,
 * sync flush, trailing 00 00 ff ff stripped, compressor reset per message:
 * that is what client_no_context_takeover allows), so sending costs nothing
 * more than a prebuilt frame; every echo is inflated (one zlib inflater per
 * connection, keeping the server's context unless a message ends the
 * stream) and compared byte for byte with the message sent. A compressed
 * echo is counted in "compressed"; "extensions" is the server's answer;
 * "payloadMean" is the mean payload length of the frames sent,
 * "echoPayloadMean" that of the compressed echoes (the server's ratio).
 * Link with -lz.
 * --hello (idle mode): each connection sends one message (a pool message,
 * compressed with --deflate) and reads its echo before going idle, so the
 * server's per-connection compression state, if any, exists.
 *
 * Echo mode: every connection keeps --inflight prebuilt masked frames in
 * flight; each read is scanned incrementally (headers across reads, payloads
 * skipped without copying); a wrong opcode or length is an error; the
 * round-trip latency of each echo goes into 10 us buckets. Prints one JSON
 * line. Idle mode: connects, prints {"event":"connected",...}, waits for
 * stdin to close, prints {"event":"done","stillOpen":N}, exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define BUCKET_US 10
#define BUCKETS 20000

static uint32_t hist[BUCKETS];
static long errors_total;
static char first_error[256];

static void error_at(const char *why) {
  errors_total++;
  if (first_error[0] == 0) snprintf(first_error, sizeof first_error, "%s", why);
}

/* Prints s as a JSON string, or null. */
static void print_json_string(const char *s) {
  if (s == NULL) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    putchar((unsigned char)*p < 0x20 ? ' ' : *p);
  }
  putchar('"');
}

/* Prints first_error as a JSON string, or null. */
static void print_first_error(void) { print_json_string(first_error[0] ? first_error : NULL); }

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- incremental echo scanner (same rules as EchoScanner in _ws_frames.ts) ---- */
struct scanner;
static void sc_error(struct scanner *s, const char *why);

struct scanner {
  int opcode;          /* expected opcode */
  uint64_t length;     /* expected message length */
  uint8_t head[14];
  int head_have;
  uint64_t payload_left;
  int frame_opcode, frame_fin;
  int msg_opcode; /* -1 when none */
  uint64_t msg_length;
  long good, errors;
  int closed;
  /* permessage-deflate (NULL z when not negotiated) */
  z_stream *z;
  int compressed;      /* the current message has RSV1 */
  uint8_t *out;        /* inflated message */
  size_t out_len, out_cap;
  int expect;          /* pool index of the next echo */
  long compressed_msgs;
  double compressed_bytes; /* payload bytes of the compressed echoes, as sent on the wire */
};

static const uint8_t **pool_msg; /* the messages, for comparing inflated echoes */
static int pool_n = 1;

static void sc_inflate(struct scanner *s, const uint8_t *p, size_t n) {
  if (s->out == NULL) return;
  s->z->next_in = (uint8_t *)p;
  s->z->avail_in = (uInt)n;
  while (s->z->avail_in > 0) {
    if (s->out_len >= s->out_cap) {
      sc_error(s, "inflated echo longer than the message sent");
      s->out = NULL; /* stop inflating this connection */
      return;
    }
    s->z->next_out = s->out + s->out_len;
    s->z->avail_out = (uInt)(s->out_cap - s->out_len);
    int r = inflate(s->z, Z_SYNC_FLUSH);
    s->out_len = s->out_cap - s->z->avail_out;
    if (r == Z_STREAM_END) {
      inflateReset(s->z); /* BFINAL: the next message starts a new stream */
      if (s->z->avail_in > 0) {
        sc_error(s, "data after the final deflate block");
        return;
      }
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      sc_error(s, "invalid deflate data in an echo");
      s->out = NULL;
      return;
    }
  }
}


static void sc_error(struct scanner *s, const char *why) {
  s->errors++;
  error_at(why);
}

static int header_length(uint8_t b1) {
  int l = b1 & 0x7f;
  return 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

static const uint8_t TAIL[4] = {0x00, 0x00, 0xff, 0xff};

static int frame_end(struct scanner *s) {
  if (s->frame_opcode > 2 || !s->frame_fin || s->msg_opcode == -1) return 0;
  uint64_t length = s->msg_length;
  int same = 1;
  if (s->compressed) {
    sc_inflate(s, TAIL, 4);
    length = s->out_len;
    same = s->out != NULL && length == s->length && memcmp(s->out, pool_msg[s->expect], length) == 0;
    s->compressed_msgs++;
    s->compressed_bytes += (double)s->msg_length;
  }
  if (s->msg_opcode != s->opcode) sc_error(s, "echo has the wrong opcode");
  else if (length != s->length) sc_error(s, "echo has the wrong length");
  else if (!same) sc_error(s, "inflated echo differs from the message sent");
  else s->good++;
  s->msg_opcode = -1;
  s->msg_length = 0;
  s->compressed = 0;
  s->out_len = 0;
  s->expect = (s->expect + 1) % pool_n;
  return 1;
}

static int on_header(struct scanner *s, const uint8_t *h) {
  uint8_t b0 = h[0], b1 = h[1];
  uint64_t len = b1 & 0x7f;
  if (len == 126) len = ((uint64_t)h[2] << 8) | h[3];
  else if (len == 127) {
    len = 0;
    for (int i = 2; i < 10; i++) len = (len << 8) | h[i];
  }
  if (b1 & 0x80) sc_error(s, "server frame is masked");
  int op = b0 & 0x0f;
  if (b0 & 0x30) sc_error(s, "RSV2 or RSV3 set in a server frame");
  if (b0 & 0x40) {
    if (s->z == NULL) sc_error(s, "RSV1 set without permessage-deflate");
    else if (op != 1 && op != 2) sc_error(s, "RSV1 set on a control or continuation frame");
    else s->compressed = 1;
  }
  s->frame_opcode = op;
  s->frame_fin = (b0 & 0x80) != 0;
  if (op == 1 || op == 2) {
    if (s->msg_opcode != -1) sc_error(s, "new data frame inside a fragmented message");
    s->msg_opcode = op;
    s->msg_length = len;
  } else if (op == 0) {
    if (s->msg_opcode == -1) sc_error(s, "continuation frame without a message");
    s->msg_length += len;
  } else if (op == 8) {
    s->closed = 1;
  } else if (op != 9 && op != 10) {
    sc_error(s, "unknown opcode");
  }
  s->payload_left = len;
  return len == 0 ? frame_end(s) : 0;
}

/* Returns the number of data messages completed in buf[0..n). */
static int sc_feed(struct scanner *s, const uint8_t *buf, size_t n) {
  size_t i = 0;
  int done = 0;
  while (i < n) {
    if (s->payload_left > 0) {
      size_t take = n - i;
      if (take > s->payload_left) take = s->payload_left;
      s->payload_left -= take;
      if (s->compressed && s->frame_opcode <= 2) sc_inflate(s, buf + i, take);
      i += take;
      if (s->payload_left == 0) done += frame_end(s);
      continue;
    }
    size_t avail = n - i;
    if (s->head_have == 0 && avail >= 2) {
      int need = header_length(buf[i + 1]);
      if (avail >= (size_t)need) {
        done += on_header(s, buf + i);
        i += need;
      } else {
        memcpy(s->head, buf + i, avail);
        s->head_have = (int)avail;
        i = n;
      }
      continue;
    }
    s->head[s->head_have++] = buf[i++];
    if (s->head_have < 2 || s->head_have < header_length(s->head[1])) continue;
    s->head_have = 0;
    done += on_header(s, s->head);
  }
  return done;
}

/* ---- frames ---- */
static size_t build_frame(uint8_t *out, int opcode, const uint8_t *payload, size_t len) {
  size_t h = 0;
  out[h++] = 0x80 | (opcode & 0x4f); /* 0x40: RSV1 (compressed) */
  if (len < 126) out[h++] = 0x80 | len;
  else if (len < 65536) {
    out[h++] = 0x80 | 126;
    out[h++] = len >> 8;
    out[h++] = len & 0xff;
  } else {
    out[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) out[h++] = ((uint64_t)len >> (8 * i)) & 0xff;
  }
  uint8_t mask[4];
  for (int i = 0; i < 4; i++) mask[i] = rand() & 0xff;
  memcpy(out + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) out[h + i] = payload[i] ^ mask[i & 3];
  return h + len;
}

/* ---- connections ---- */
struct conn {
  int fd;
  struct scanner sc;
  double *sent; /* ring of send times, capacity = inflight */
  int oldest, outstanding;
  const uint8_t *wptr; /* pending write (partial send) */
  size_t wleft;
  int pending;   /* messages to send once the current write finishes */
  int want_out;  /* EPOLLOUT registered */
  int dead;
  int next; /* pool index of the next message to send */
};

static struct {
  const char *host, *path, *key, *accept, *mode;
  int port, conns, inflight, binary, json, deflate, pool, hello;
  size_t size;
  double duration;
} opt = {"127.0.0.1", "/", NULL, NULL, "echo", 0, 50, 1, 0, 0, 0, 64, 0, 32, 5};

/* Frames of pool messages 0..pool-1, then again 0..inflight-1, back to back:
 * k messages from index j are the bytes [offsets[j], offsets[j + k]). */
static uint8_t *frames;
static size_t *offsets;
static char negotiated[256]; /* the first Sec-WebSocket-Extensions answer */
static double payload_mean;  /* mean payload bytes of the pool's frames (compressed with --deflate) */

static const char *WORDS[] = {"alpha", "bravo", "delta", "order", "shipped", "pending", "price", "total",
                              "customer", "review", "the", "and", "with", "warehouse", "express", "return"};

static unsigned lcg(unsigned *r) {
  *r = *r * 1103515245u + 12345u;
  return *r >> 8;
}

/* A JSON-like document of exactly `size` bytes, different for each seed. */
static void json_message(uint8_t *out, size_t size, int seed) {
  size_t cap = size + 512;
  char *buf = malloc(cap);
  unsigned r = 2654435761u * (unsigned)(seed + 1);
  const char *kind = WORDS[lcg(&r) % 16];
  unsigned uid = lcg(&r) % 100000, ts = 1700000000u + lcg(&r) % 10000000;
  int n = snprintf(buf, cap, "{\"id\":%d,\"type\":\"order.%s\",\"user\":{\"id\":%u,\"name\":\"user-%05u\"},"
                   "\"ts\":%u,\"items\":[", seed, kind, uid, uid * 7 % 100000, ts);
  while ((size_t)n + 200 < size) {
    unsigned sku = lcg(&r) % 1000000, qty = 1 + lcg(&r) % 9, euros = lcg(&r) % 500, cents = lcg(&r) % 100;
    const char *tag = WORDS[lcg(&r) % 16];
    n += snprintf(buf + n, cap - n, "%s{\"sku\":\"SKU-%06u\",\"qty\":%u,\"price\":%u.%02u,\"tag\":\"%s\"}",
                  buf[n - 1] == '[' ? "" : ",", sku, qty, euros, cents, tag);
  }
  n += snprintf(buf + n, cap - n, "],\"note\":\"");
  while ((size_t)n < size + 8) n += snprintf(buf + n, cap - n, "%s ", WORDS[lcg(&r) % 16]);
  if (size >= 256) memcpy(buf + size - 2, "\"}", 2);
  for (size_t i = 0; i < size; i++) out[i] = size >= 256 ? (uint8_t)buf[i] : (uint8_t)('a' + i % 26);
  free(buf);
}

/* Raw deflate of msg (15-bit window, level 6), sync flush, tail stripped; returns the length. */
static size_t deflate_message(z_stream *d, const uint8_t *msg, size_t len, uint8_t *out, size_t cap) {
  deflateReset(d);
  d->next_in = (uint8_t *)msg;
  d->avail_in = (uInt)len;
  d->next_out = out;
  d->avail_out = (uInt)cap;
  if (deflate(d, Z_SYNC_FLUSH) != Z_OK || d->avail_in != 0 || d->avail_out == 0) {
    fprintf(stderr, "ws_load: deflate failed\n");
    exit(2);
  }
  size_t n = cap - d->avail_out;
  return n - 4; /* 00 00 ff ff */
}

/* Builds the pool (messages and their frames). */
static void build_frames(void) {
  pool_n = opt.json || opt.deflate ? opt.pool : 1;
  int total = pool_n + opt.inflight;
  uint8_t **msgs = calloc(pool_n, sizeof *msgs);
  for (int i = 0; i < pool_n; i++) {
    msgs[i] = malloc(opt.size + 1);
    if (opt.json || opt.deflate) json_message(msgs[i], opt.size, i);
    else for (size_t j = 0; j < opt.size; j++) msgs[i][j] = 'a' + j % 26;
  }
  pool_msg = (const uint8_t **)msgs;
  size_t cap = opt.size + opt.size / 8 + 64;
  uint8_t **payload = calloc(pool_n, sizeof *payload);
  size_t *plen = calloc(pool_n, sizeof *plen);
  z_stream d = {0};
  if (opt.deflate && deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fprintf(stderr, "ws_load: deflateInit2 failed\n");
    exit(2);
  }
  for (int i = 0; i < pool_n; i++) {
    if (opt.deflate) {
      payload[i] = malloc(cap);
      plen[i] = deflate_message(&d, msgs[i], opt.size, payload[i], cap);
    } else {
      payload[i] = msgs[i];
      plen[i] = opt.size;
    }
  }
  if (opt.deflate) deflateEnd(&d);
  for (int i = 0; i < pool_n; i++) payload_mean += (double)plen[i] / pool_n;
  size_t one = 14 + cap;
  frames = malloc(one * total);
  offsets = calloc(total + 1, sizeof *offsets);
  int opcode = (opt.binary ? 2 : 1) | (opt.deflate ? 0x40 : 0);
  for (int j = 0; j < total; j++) {
    int i = j % pool_n;
    offsets[j + 1] = offsets[j] + build_frame(frames + offsets[j], opcode, payload[i], plen[i]);
  }
}

static int parse_url(const char *url) {
  static char host[256], path[1024];
  if (strncmp(url, "ws://", 5) != 0) return -1;
  const char *p = url + 5;
  const char *hend;
  if (*p == '[') {
    hend = strchr(p, ']');
    if (!hend) return -1;
    snprintf(host, sizeof host, "%.*s", (int)(hend - p - 1), p + 1);
    hend++;
  } else {
    hend = p + strcspn(p, ":/");
    snprintf(host, sizeof host, "%.*s", (int)(hend - p), p);
  }
  opt.port = 80;
  if (*hend == ':') opt.port = atoi(hend + 1);
  const char *slash = strchr(hend, '/');
  snprintf(path, sizeof path, "%s", slash ? slash : "/");
  opt.host = host;
  opt.path = path;
  return 0;
}

/* Blocking connect + handshake; returns a non-blocking fd or -1. Bytes past the head go to *left. */
static int open_ws(uint8_t *left, size_t *left_len) {
  struct addrinfo hints = {0}, *ai;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", opt.port);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(opt.host, portstr, &hints, &ai) != 0) {
    error_at("cannot resolve host");
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "connect: %s", strerror(errno));
    error_at(msg);
    freeaddrinfo(ai);
    if (fd >= 0) close(fd);
    return -1;
  }
  freeaddrinfo(ai);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char req[2048];
  int rl = snprintf(req, sizeof req,
                    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                    opt.path, opt.host, opt.port, opt.key,
                    opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n" : "");
  if (send(fd, req, rl, MSG_NOSIGNAL) != rl) {
    error_at("handshake: send failed");
    close(fd);
    return -1;
  }
  char buf[4097];
  size_t have = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + have, 4096 - have, 0);
    if (r <= 0) {
      error_at(r == 0 ? "handshake: connection closed" : "handshake: recv failed or timed out");
      close(fd);
      return -1;
    }
    have += r;
    buf[have] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end) {
      size_t head_len = end + 4 - buf;
      if (strncmp(buf, "HTTP/1.1 101", 12) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "handshake: expected 101, got %.100s", buf);
        error_at(msg);
        close(fd);
        return -1;
      }
      /* Find the accept header, case-insensitively. */
      int ok = 0;
      for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "sec-websocket-accept:", 21) == 0) {
          char *v = line + 23;
          while (*v == ' ' || *v == '\t') v++;
          size_t al = strlen(opt.accept);
          ok = strncmp(v, opt.accept, al) == 0 && (v[al] == '\r' || v[al] == ' ' || v[al] == '\t');
          break;
        }
      }
      if (!ok) {
        error_at("handshake: missing or wrong Sec-WebSocket-Accept");
        close(fd);
        return -1;
      }
      int deflate_ok = 0;
      for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "sec-websocket-extensions:", 25) == 0) {
          char *v = line + 27;
          while (*v == ' ' || *v == '\t') v++;
          size_t vl = strcspn(v, "\r");
          if (!negotiated[0]) snprintf(negotiated, sizeof negotiated, "%.*s", (int)vl, v);
          deflate_ok = vl >= 18 && strncasecmp(v, "permessage-deflate", 18) == 0;
          if (!opt.deflate) {
            error_at("handshake: an extension was answered that was not offered");
            close(fd);
            return -1;
          }
          break;
        }
      }
      if (opt.deflate && !deflate_ok) {
        error_at("handshake: permessage-deflate offered but not negotiated");
        close(fd);
        return -1;
      }
      *left_len = have - head_len;
      memcpy(left, buf + head_len, *left_len);
      struct timeval zero = {0, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
      return fd;
    }
    if (have == 4096) {
      error_at("handshake: response head over 4096 bytes");
      close(fd);
      return -1;
    }
  }
}

static int epfd;
static int phase; /* 1 measuring, 2 draining */
static long messages;

static void set_out(struct conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = on;
}

static void kill_conn(struct conn *c, const char *why) {
  if (c->dead) return;
  c->dead = 1;
  if (phase == 1 && why) error_at(why);
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

/* Sends the pending write, then queued messages, until EAGAIN or nothing left. */
static void pump(struct conn *c) {
  for (;;) {
    if (c->wleft == 0) {
      if (phase != 1) c->pending = 0;
      int k = c->pending;
      if (k > opt.inflight - c->outstanding) k = opt.inflight - c->outstanding;
      if (k <= 0) break;
      c->pending -= k;
      double t = now_ms();
      for (int j = 0; j < k; j++) c->sent[(c->oldest + c->outstanding + j) % opt.inflight] = t;
      c->outstanding += k;
      c->wptr = frames + offsets[c->next];
      c->wleft = offsets[c->next + k] - offsets[c->next];
      c->next = (c->next + k) % pool_n;
    }
    ssize_t w = send(c->fd, c->wptr, c->wleft, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      kill_conn(c, "write failed");
      return;
    }
    c->wptr += w;
    c->wleft -= w;
  }
  set_out(c, c->wleft > 0);
}

static void on_bytes(struct conn *c, const uint8_t *buf, size_t n, double t) {
  long good = c->sc.good;
  int done = sc_feed(&c->sc, buf, n);
  if (done == 0) return;
  for (int j = 0; j < done; j++) {
    if (phase == 1) {
      long us = (long)((t - c->sent[c->oldest]) * 1000.0);
      long b = us / BUCKET_US;
      if (b < 0) b = 0;
      if (b >= BUCKETS) b = BUCKETS - 1;
      hist[b]++;
    }
    c->oldest = (c->oldest + 1) % opt.inflight;
  }
  if (phase == 1) messages += c->sc.good - good;
  c->outstanding -= done;
  if (c->outstanding < 0) {
    error_at("more echoes than messages sent");
    c->outstanding = 0;
  }
  if (c->sc.closed) {
    kill_conn(c, "server sent a close frame");
    return;
  }
  c->pending += done;
}

static int echo_mode(void) {
  build_frames();
  size_t one = (opt.size < 126 ? 2 : opt.size < 65536 ? 4 : 10) + 4 + opt.size;
  struct conn *conns = calloc(opt.conns, sizeof *conns);
  int nconn = 0;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  static uint8_t left[4096];
  size_t left_lens[1];
  uint8_t **lefts = calloc(opt.conns, sizeof *lefts);
  size_t *lefts_len = calloc(opt.conns, sizeof *lefts_len);
  for (int i = 0; i < opt.conns; i++) {
    int fd = open_ws(left, left_lens);
    if (fd < 0) continue;
    struct conn *c = &conns[nconn];
    c->fd = fd;
    c->sc.opcode = opt.binary ? 2 : 1;
    c->sc.length = opt.size;
    c->sc.msg_opcode = -1;
    c->next = c->sc.expect = (int)((unsigned)i * 7u % (unsigned)pool_n); /* connections start apart */
    if (opt.deflate) {
      c->sc.z = calloc(1, sizeof(z_stream));
      if (inflateInit2(c->sc.z, -15) != Z_OK) {
        fprintf(stderr, "ws_load: inflateInit2 failed\n");
        return 2;
      }
      c->sc.out_cap = opt.size + 1;
      c->sc.out = malloc(c->sc.out_cap);
    }
    c->sent = calloc(opt.inflight, sizeof(double));
    lefts[nconn] = malloc(left_lens[0] + 1);
    memcpy(lefts[nconn], left, left_lens[0]);
    lefts_len[nconn] = left_lens[0];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    nconn++;
  }
  size_t rbuf_len = one * 4 > 65536 ? (one * 4 < (1 << 20) ? one * 4 : (1 << 20)) : 65536;
  uint8_t *rbuf = malloc(rbuf_len);
  double cpu0 = cpu_seconds();
  double t0 = now_ms(), t_end = t0 + opt.duration * 1000.0, t_stop = 0;
  phase = 1;
  for (int i = 0; i < nconn; i++) {
    if (lefts_len[i]) on_bytes(&conns[i], lefts[i], lefts_len[i], t0);
    conns[i].pending = opt.inflight;
    pump(&conns[i]);
  }
  double seconds = 0, client_cpu = 0;
  struct epoll_event evs[256];
  for (;;) {
    double t = now_ms();
    if (phase == 1 && t >= t_end) {
      phase = 2;
      seconds = (t - t0) / 1000.0;
      client_cpu = cpu_seconds() - cpu0;
      t_stop = t + 1000.0;
    }
    if (phase == 2) {
      int busy = 0;
      for (int i = 0; i < nconn; i++) busy |= !conns[i].dead && conns[i].outstanding > 0;
      if (!busy || t >= t_stop) break;
    }
    int timeout = (int)((phase == 1 ? t_end : t_stop) - t) + 1;
    int n = epoll_wait(epfd, evs, 256, timeout > 0 ? timeout : 0);
    double now = now_ms();
    for (int e = 0; e < n; e++) {
      struct conn *c = evs[e].data.ptr;
      if (c->dead) continue;
      if (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
          ssize_t r = recv(c->fd, rbuf, rbuf_len, MSG_DONTWAIT);
          if (r > 0) {
            on_bytes(c, rbuf, (size_t)r, now);
            if (c->dead) break;
            if ((size_t)r < rbuf_len) break;
            continue;
          }
          if (r == 0) kill_conn(c, "server closed the connection");
          else if (errno != EAGAIN && errno != EWOULDBLOCK) kill_conn(c, "read failed");
          break;
        }
      }
      if (!c->dead) pump(c);
    }
  }
  if (seconds == 0) {
    seconds = (now_ms() - t0) / 1000.0;
    client_cpu = cpu_seconds() - cpu0;
  }
  uint8_t close_frame[8];
  uint8_t code[2] = {0x03, 0xe8};
  size_t cl = build_frame(close_frame, 8, code, 2);
  for (int i = 0; i < nconn; i++) {
    if (conns[i].dead) continue;
    send(conns[i].fd, close_frame, cl, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(conns[i].fd);
  }
  printf("{\"event\":\"result\",\"conns\":%d,\"connected\":%d,\"messages\":%ld,\"errors\":%ld,\"firstError\":", opt.conns,
         nconn, messages, errors_total);
  print_first_error();
  long compressed = 0;
  double compressed_bytes = 0;
  for (int i = 0; i < nconn; i++) {
    compressed += conns[i].sc.compressed_msgs;
    compressed_bytes += conns[i].sc.compressed_bytes;
  }
  printf(",\"extensions\":");
  print_json_string(negotiated[0] ? negotiated : NULL);
  printf(",\"compressed\":%ld,\"payloadMean\":%.1f,\"echoPayloadMean\":%.1f", compressed, payload_mean,
         compressed ? compressed_bytes / compressed : 0.0);
  printf(",\"seconds\":%.6f,\"bytes\":%.0f,\"clientCpu\":%.6f,\"latency\":[", seconds, (double)messages * opt.size,
         client_cpu);
  int first = 1;
  for (int i = 0; i < BUCKETS; i++) {
    if (!hist[i]) continue;
    printf("%s[%d,%u]", first ? "" : ",", i, hist[i]);
    first = 0;
  }
  printf("]}\n");
  return 0;
}

/* Reads exactly n bytes (blocking, with the socket's timeout); 0 on success. */
/* Takes bytes the handshake read past its head (*left, *left_len) first. */
static int read_exactly(int fd, uint8_t *buf, size_t n, const uint8_t **left, size_t *left_len) {
  size_t have = 0;
  if (*left_len > 0) {
    have = *left_len < n ? *left_len : n;
    memcpy(buf, *left, have);
    *left += have;
    *left_len -= have;
  }
  while (have < n) {
    ssize_t r = recv(fd, buf + have, n - have, 0);
    if (r <= 0) return -1;
    have += r;
  }
  return 0;
}

/* --hello: sends one pool message and reads one data frame back; 0 on success. */
static int hello(int fd, int i, const uint8_t *left, size_t left_len) {
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int j = i % pool_n;
  size_t len = offsets[j + 1] - offsets[j];
  if (send(fd, frames + offsets[j], len, MSG_NOSIGNAL) != (ssize_t)len) return -1;
  uint8_t h[14];
  if (read_exactly(fd, h, 2, &left, &left_len)) return -1;
  if ((h[0] & 0x0f) != (opt.binary ? 2 : 1) || !(h[0] & 0x80)) return -1;
  if (opt.deflate && !(h[0] & 0x40)) return -1; /* the echo must come back compressed */
  uint64_t plen = h[1] & 0x7f;
  int ext = plen == 126 ? 2 : plen == 127 ? 8 : 0;
  if (ext && read_exactly(fd, h + 2, ext, &left, &left_len)) return -1;
  if (ext) {
    plen = 0;
    for (int k = 0; k < ext; k++) plen = (plen << 8) | h[2 + k];
  }
  uint8_t *payload = malloc(plen + 1);
  int bad = read_exactly(fd, payload, plen, &left, &left_len);
  free(payload);
  struct timeval zero = {0, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
  return bad;
}

static int idle_mode(void) {
  int *fds = calloc(opt.conns, sizeof(int));
  int n = 0, failed = 0;
  uint8_t left[4096];
  size_t left_len;
  if (opt.hello) build_frames();
  for (int i = 0; i < opt.conns; i++) {
    int fd = open_ws(left, &left_len);
    if (fd >= 0 && opt.hello && hello(fd, i, left, left_len) != 0) {
      error_at("--hello: no echo, or the echo was not a compressed data frame");
      close(fd);
      fd = -1;
    }
    if (fd < 0) failed++;
    else fds[n++] = fd;
  }
  printf("{\"event\":\"connected\",\"connected\":%d,\"failed\":%d,\"extensions\":", n, failed);
  print_json_string(negotiated[0] ? negotiated : NULL);
  printf(",\"firstError\":");
  print_first_error();
  printf("}\n");
  fflush(stdout);
  char buf[256];
  while (read(0, buf, sizeof buf) > 0) {
  }
  int open_count = 0;
  for (int i = 0; i < n; i++) {
    char b;
    ssize_t r = recv(fds[i], &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) open_count++;
    close(fds[i]);
  }
  printf("{\"event\":\"done\",\"stillOpen\":%d}\n", open_count);
  return 0;
}

int main(int argc, char **argv) {
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--binary") == 0) { opt.binary = 1; continue; }
    if (strcmp(a, "--json") == 0) { opt.json = 1; continue; }
    if (strcmp(a, "--deflate") == 0) { opt.deflate = 1; continue; }
    if (strcmp(a, "--hello") == 0) { opt.hello = 1; continue; }
    if (strcmp(a, "--url") == 0) { if (parse_url(v)) { fprintf(stderr, "ws_load: bad --url %s\n", v); return 2; } }
    else if (strcmp(a, "--key") == 0) opt.key = v;
    else if (strcmp(a, "--accept") == 0) opt.accept = v;
    else if (strcmp(a, "--mode") == 0) opt.mode = v;
    else if (strcmp(a, "--conns") == 0) opt.conns = atoi(v);
    else if (strcmp(a, "--inflight") == 0) opt.inflight = atoi(v) > 0 ? atoi(v) : 1;
    else if (strcmp(a, "--size") == 0) opt.size = (size_t)atol(v);
    else if (strcmp(a, "--duration") == 0) opt.duration = atof(v);
    else if (strcmp(a, "--pool") == 0) opt.pool = atoi(v) > 0 ? atoi(v) : 1;
    else if (strcmp(a, "--connect-concurrency") == 0) { /* accepted for compatibility; connects are sequential */ }
    else { fprintf(stderr, "ws_load: unknown flag %s\n", a); return 2; }
    i++;
  }
  if (!opt.key || !opt.accept || opt.port == 0) {
    fprintf(stderr, "ws_load: --url ws://HOST:PORT/PATH, --key and --accept are required\n");
    return 2;
  }
  alarm(strcmp(opt.mode, "idle") == 0 ? 900 : (unsigned)opt.duration + 60); /* never outlive the runner */
  return strcmp(opt.mode, "idle") == 0 ? idle_mode() : echo_mode();
}
