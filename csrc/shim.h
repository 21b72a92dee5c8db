/*
 * The C side of the nghttp2 <-> Rust boundary.
 *
 * nghttp2 calls the trampolines in shim.c with its own callback signatures;
 * each trampoline flattens what it got (the nghttp2_frame union above all)
 * into the plain structs below and forwards it to a Rust function found in a
 * table of function pointers.  The table is the first field of the session's
 * user data, so Rust can stay generic over its handler type and nothing is
 * linked by symbol name.
 */
#ifndef NGHTTP2_RS_SHIM_H
#define NGHTTP2_RS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

/* The 9-byte frame header, as nghttp2 parsed or built it. */
typedef struct {
  size_t length;
  int32_t stream_id;
  uint8_t type;
  uint8_t flags;
} h2shim_frame_hd;

/* One SETTINGS entry (laid out as nghttp2_settings_entry). */
typedef struct {
  int32_t id;
  uint32_t value;
} h2shim_setting;

/* One header field of a frame nghttp2 is sending, laid out as nghttp2_nv
   (names and values are not NUL-terminated). */
typedef struct {
  const uint8_t *name;
  const uint8_t *value;
  size_t namelen;
  size_t valuelen;
  uint8_t flags;
} h2shim_nv;

/* One origin of an ORIGIN frame (laid out as nghttp2_origin_entry). */
typedef struct {
  const uint8_t *origin;
  size_t origin_len;
} h2shim_origin;

/*
 * A frame, flattened.  Only the fields that belong to `hd.type` are
 * meaningful; the rest are zero.  Every pointer is borrowed from nghttp2 and
 * valid only for the duration of the callback.
 */
typedef struct {
  h2shim_frame_hd hd;
  /* DATA, HEADERS, PUSH_PROMISE: the padding length (including the pad
     length byte itself). */
  size_t padlen;
  /* HEADERS: nghttp2_headers_category. */
  int32_t headers_category;
  /* HEADERS and PRIORITY: the priority (RFC 7540) dependency. */
  int32_t pri_stream_id;
  int32_t pri_weight;
  uint8_t pri_exclusive;
  /* RST_STREAM and GOAWAY. */
  uint32_t error_code;
  /* GOAWAY. */
  int32_t last_stream_id;
  /* GOAWAY opaque data, ALTSVC field value, PRIORITY_UPDATE field value. */
  const uint8_t *data;
  size_t datalen;
  /* ALTSVC origin. */
  const uint8_t *origin;
  size_t origin_len;
  /* WINDOW_UPDATE. */
  int32_t window_size_increment;
  /* PUSH_PROMISE promised stream, PRIORITY_UPDATE prioritized stream. */
  int32_t promised_stream_id;
  /* SETTINGS. */
  const h2shim_setting *settings;
  size_t niv;
  /* PING. */
  uint8_t opaque_data[8];
  /* ORIGIN. */
  const h2shim_origin *origins;
  size_t norigins;
  /* HEADERS and PUSH_PROMISE being sent (empty for received ones, whose
     fields arrive one by one through on_header). */
  const h2shim_nv *nva;
  size_t nvlen;
} h2shim_frame;

/*
 * The Rust functions C forwards to.  `user_data` is the session's user data,
 * whose first field points at this table.  Every function returns 0 or an
 * nghttp2_error code, exactly as the nghttp2 callback it serves.
 */
typedef struct {
  int (*on_begin_frame)(void *user_data, const h2shim_frame_hd *hd);
  int (*on_begin_headers)(void *user_data, const h2shim_frame *frame);
  int (*on_header)(void *user_data, const h2shim_frame *frame,
                   const uint8_t *name, size_t namelen, const uint8_t *value,
                   size_t valuelen, uint8_t flags);
  int (*on_invalid_header)(void *user_data, const h2shim_frame *frame,
                           const uint8_t *name, size_t namelen,
                           const uint8_t *value, size_t valuelen,
                           uint8_t flags);
  int (*on_frame_recv)(void *user_data, const h2shim_frame *frame);
  int (*on_invalid_frame_recv)(void *user_data, const h2shim_frame *frame,
                               int lib_error_code);
  int (*on_data_chunk_recv)(void *user_data, uint8_t flags, int32_t stream_id,
                            const uint8_t *data, size_t len);
  int (*on_frame_send)(void *user_data, const h2shim_frame *frame);
  int (*on_frame_not_send)(void *user_data, const h2shim_frame *frame,
                           int lib_error_code);
  int (*on_stream_close)(void *user_data, int32_t stream_id,
                         uint32_t error_code);
  int (*on_error)(void *user_data, int lib_error_code, const char *msg,
                  size_t len);
  /* The read callback of every data provider this crate submits. Returns the
     number of bytes, NGHTTP2_ERR_DEFERRED, or an error code. */
  nghttp2_ssize (*read_data)(void *user_data, int32_t stream_id,
                             size_t length, uint32_t *data_flags);
  /* NGHTTP2_DATA_FLAG_NO_COPY: write the whole DATA frame (the 9 header
     bytes in `framehd`, then `length` bytes of payload and `padlen` bytes of
     padding) to the output. */
  int (*send_data)(void *user_data, int32_t stream_id, const uint8_t *framehd,
                   size_t length, size_t padlen);
} h2shim_callbacks;

/* Makes a callbacks object with every trampoline installed, or NULL when
   out of memory.  The caller frees it with nghttp2_session_callbacks_del
   (nghttp2_session_*_new copy it). */
nghttp2_session_callbacks *h2shim_callbacks_new(void);

/* A data provider whose reads go to `read_data` of the session's table. */
nghttp2_data_provider2 h2shim_data_provider(void);

/* Routes nghttp2's debug output (only produced by a DEBUGBUILD of nghttp2),
   formatted by C, to `sink`; NULL turns it off. */
void h2shim_set_debug_sink(void (*sink)(const char *msg, size_t len));

#endif /* NGHTTP2_RS_SHIM_H */
