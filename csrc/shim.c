/*
 * Trampolines from nghttp2's callbacks to the Rust table in shim.h.
 *
 * Kept deliberately dumb: unpack, forward, return what Rust returned.
 */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The flat structs that alias nghttp2's own arrays must keep their layout. */
_Static_assert(sizeof(h2shim_setting) == sizeof(nghttp2_settings_entry),
               "h2shim_setting must match nghttp2_settings_entry");
_Static_assert(offsetof(h2shim_setting, value) ==
                   offsetof(nghttp2_settings_entry, value),
               "h2shim_setting must match nghttp2_settings_entry");
_Static_assert(sizeof(h2shim_nv) == sizeof(nghttp2_nv),
               "h2shim_nv must match nghttp2_nv");
_Static_assert(offsetof(h2shim_nv, value) == offsetof(nghttp2_nv, value) &&
                   offsetof(h2shim_nv, namelen) ==
                       offsetof(nghttp2_nv, namelen) &&
                   offsetof(h2shim_nv, valuelen) ==
                       offsetof(nghttp2_nv, valuelen) &&
                   offsetof(h2shim_nv, flags) == offsetof(nghttp2_nv, flags),
               "h2shim_nv must match nghttp2_nv");
_Static_assert(sizeof(h2shim_origin) == sizeof(nghttp2_origin_entry) &&
                   offsetof(h2shim_origin, origin_len) ==
                       offsetof(nghttp2_origin_entry, origin_len),
               "h2shim_origin must match nghttp2_origin_entry");

/* The table is the first field of the user data. */
static const h2shim_callbacks *table(void *user_data) {
  return *(const h2shim_callbacks *const *)user_data;
}

static void flatten_hd(h2shim_frame_hd *out, const nghttp2_frame_hd *hd) {
  out->length = hd->length;
  out->stream_id = hd->stream_id;
  out->type = hd->type;
  out->flags = hd->flags;
}

static void flatten_priority(h2shim_frame *out,
                             const nghttp2_priority_spec *pri) {
  out->pri_stream_id = pri->stream_id;
  out->pri_weight = pri->weight;
  out->pri_exclusive = pri->exclusive;
}

/* Reads the member of the nghttp2_frame union that `hd.type` names. */
static void flatten(h2shim_frame *out, const nghttp2_frame *frame) {
  memset(out, 0, sizeof(*out));
  flatten_hd(&out->hd, &frame->hd);
  switch (frame->hd.type) {
  case NGHTTP2_DATA:
    out->padlen = frame->data.padlen;
    break;
  case NGHTTP2_HEADERS:
    out->padlen = frame->headers.padlen;
    out->headers_category = (int32_t)frame->headers.cat;
    flatten_priority(out, &frame->headers.pri_spec);
    out->nva = (const h2shim_nv *)frame->headers.nva;
    out->nvlen = frame->headers.nvlen;
    break;
  case NGHTTP2_PRIORITY:
    flatten_priority(out, &frame->priority.pri_spec);
    break;
  case NGHTTP2_RST_STREAM:
    out->error_code = frame->rst_stream.error_code;
    break;
  case NGHTTP2_SETTINGS:
    out->settings = (const h2shim_setting *)frame->settings.iv;
    out->niv = frame->settings.niv;
    break;
  case NGHTTP2_PUSH_PROMISE:
    out->padlen = frame->push_promise.padlen;
    out->promised_stream_id = frame->push_promise.promised_stream_id;
    out->nva = (const h2shim_nv *)frame->push_promise.nva;
    out->nvlen = frame->push_promise.nvlen;
    break;
  case NGHTTP2_PING:
    memcpy(out->opaque_data, frame->ping.opaque_data, 8);
    break;
  case NGHTTP2_GOAWAY:
    out->last_stream_id = frame->goaway.last_stream_id;
    out->error_code = frame->goaway.error_code;
    out->data = frame->goaway.opaque_data;
    out->datalen = frame->goaway.opaque_data_len;
    break;
  case NGHTTP2_WINDOW_UPDATE:
    out->window_size_increment = frame->window_update.window_size_increment;
    break;
  case NGHTTP2_ALTSVC:
    if (frame->ext.payload) {
      const nghttp2_ext_altsvc *altsvc = frame->ext.payload;
      out->origin = altsvc->origin;
      out->origin_len = altsvc->origin_len;
      out->data = altsvc->field_value;
      out->datalen = altsvc->field_value_len;
    }
    break;
  case NGHTTP2_ORIGIN:
    if (frame->ext.payload) {
      const nghttp2_ext_origin *origin = frame->ext.payload;
      out->origins = (const h2shim_origin *)origin->ov;
      out->norigins = origin->nov;
    }
    break;
  case NGHTTP2_PRIORITY_UPDATE:
    if (frame->ext.payload) {
      const nghttp2_ext_priority_update *update = frame->ext.payload;
      out->promised_stream_id = update->stream_id;
      out->data = update->field_value;
      out->datalen = update->field_value_len;
    }
    break;
  default:
    break;
  }
}

static int on_begin_frame(nghttp2_session *session, const nghttp2_frame_hd *hd,
                          void *user_data) {
  h2shim_frame_hd flat;
  (void)session;
  flatten_hd(&flat, hd);
  return table(user_data)->on_begin_frame(user_data, &flat);
}

static int on_begin_headers(nghttp2_session *session,
                            const nghttp2_frame *frame, void *user_data) {
  h2shim_frame flat;
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_begin_headers(user_data, &flat);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame,
                     nghttp2_rcbuf *name, nghttp2_rcbuf *value, uint8_t flags,
                     void *user_data) {
  h2shim_frame flat;
  nghttp2_vec n = nghttp2_rcbuf_get_buf(name);
  nghttp2_vec v = nghttp2_rcbuf_get_buf(value);
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_header(user_data, &flat, n.base, n.len, v.base,
                                     v.len, flags);
}

static int on_invalid_header(nghttp2_session *session,
                             const nghttp2_frame *frame, nghttp2_rcbuf *name,
                             nghttp2_rcbuf *value, uint8_t flags,
                             void *user_data) {
  h2shim_frame flat;
  nghttp2_vec n = nghttp2_rcbuf_get_buf(name);
  nghttp2_vec v = nghttp2_rcbuf_get_buf(value);
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_invalid_header(user_data, &flat, n.base, n.len,
                                             v.base, v.len, flags);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
                         void *user_data) {
  h2shim_frame flat;
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_frame_recv(user_data, &flat);
}

static int on_invalid_frame_recv(nghttp2_session *session,
                                 const nghttp2_frame *frame,
                                 int lib_error_code, void *user_data) {
  h2shim_frame flat;
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_invalid_frame_recv(user_data, &flat,
                                                 lib_error_code);
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags,
                              int32_t stream_id, const uint8_t *data,
                              size_t len, void *user_data) {
  (void)session;
  return table(user_data)->on_data_chunk_recv(user_data, flags, stream_id,
                                              data, len);
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame,
                         void *user_data) {
  h2shim_frame flat;
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_frame_send(user_data, &flat);
}

static int on_frame_not_send(nghttp2_session *session,
                             const nghttp2_frame *frame, int lib_error_code,
                             void *user_data) {
  h2shim_frame flat;
  (void)session;
  flatten(&flat, frame);
  return table(user_data)->on_frame_not_send(user_data, &flat, lib_error_code);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id,
                           uint32_t error_code, void *user_data) {
  (void)session;
  return table(user_data)->on_stream_close(user_data, stream_id, error_code);
}

static int on_error(nghttp2_session *session, int lib_error_code,
                    const char *msg, size_t len, void *user_data) {
  (void)session;
  return table(user_data)->on_error(user_data, lib_error_code, msg, len);
}

static nghttp2_ssize read_data(nghttp2_session *session, int32_t stream_id,
                               uint8_t *buf, size_t length,
                               uint32_t *data_flags,
                               nghttp2_data_source *source, void *user_data) {
  (void)session;
  (void)buf; /* every read is NGHTTP2_DATA_FLAG_NO_COPY or empty */
  (void)source;
  return table(user_data)->read_data(user_data, stream_id, length, data_flags);
}

static int send_data(nghttp2_session *session, nghttp2_frame *frame,
                     const uint8_t *framehd, size_t length,
                     nghttp2_data_source *source, void *user_data) {
  (void)session;
  (void)source;
  return table(user_data)->send_data(user_data, frame->hd.stream_id, framehd,
                                     length, frame->data.padlen);
}

nghttp2_session_callbacks *h2shim_callbacks_new(void) {
  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    return NULL;
  }
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
                                                          on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback2(cbs, on_header);
  nghttp2_session_callbacks_set_on_invalid_header_callback2(cbs,
                                                            on_invalid_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
      cbs, on_invalid_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
                                                            on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs,
                                                           on_frame_not_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
  nghttp2_session_callbacks_set_send_data_callback(cbs, send_data);
  return cbs;
}

nghttp2_data_provider2 h2shim_data_provider(void) {
  nghttp2_data_provider2 provider;
  memset(&provider, 0, sizeof(provider));
  provider.source.ptr = NULL;
  provider.read_callback = read_data;
  return provider;
}

static void (*debug_sink)(const char *msg, size_t len);

static void debug_vprintf(const char *format, va_list args) {
  char buf[1024];
  int n;
  if (!debug_sink) {
    return;
  }
  n = vsnprintf(buf, sizeof(buf), format, args);
  if (n < 0) {
    return;
  }
  if ((size_t)n >= sizeof(buf)) {
    n = (int)sizeof(buf) - 1;
  }
  debug_sink(buf, (size_t)n);
}

void h2shim_set_debug_sink(void (*sink)(const char *msg, size_t len)) {
  debug_sink = sink;
  nghttp2_set_debug_vprintf_callback(sink ? debug_vprintf : NULL);
}
