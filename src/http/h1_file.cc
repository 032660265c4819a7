// File bodies of an HTTP/1.x response (Exchange::send_file): the range is not copied into
// the output queue; it waits behind the bytes queued before it and the server moves it from
// the file to the socket (splice through a pipe, src/server/connection_file.cc), reporting
// progress here. Kept apart from h1_connection.cc so the head/body paths stay readable.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "http/h1_connection.h"

namespace pagi::http {

SendResult H1Connection::send_file(int fd, uint64_t offset, uint64_t length) {
  if (streaming()) return wrong_scope("send_file is only valid on an http scope");
  if (!app_active_ || client_gone_) return SendResult::kClosed;
  if (response_ == Response::kNone || response_ == Response::kComplete || body_finished_) {
    return send_result();  // before start / after the end: ignored, like any body
  }
  if (response_ != Response::kHeadOpen) {
    error_ = "send_file: a body was already sent (a file body must be the only one)";
    return SendResult::kInvalid;
  }
  int minor = head_ != nullptr ? head_->version_minor() : 1;
  if (trailers_expected_ && minor == 1) {
    error_ = "send_file: not with trailers (the body would need chunked framing)";
    return SendResult::kInvalid;
  }
  bool on_wire = !is_head_request_ && status_ >= 200 && status_ != 204 && status_ != 304;
  int own = -1;
  if (on_wire && length > 0) {
    own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      error_ = "send_file: cannot duplicate the file descriptor";
      return SendResult::kInvalid;
    }
  }
  announced_length_ = int64_t(length);
  close_head(true, size_t(length));
  uint64_t n = framing_ == Framing::kNone ? 0 : length;
  if (framing_ == Framing::kContentLength) {
    n = std::min(n, cl_remaining_);
    cl_remaining_ -= n;
    if (n < length) keep_alive_ = false;  // longer than the app's Content-Length: cut
  }
  if (!is_head_request_) body_bytes_ += n;  // as send_body counts (no HEAD body)
  if (n == 0) {
    if (own >= 0) ::close(own);
    complete_response({});
    output_grew();
    return send_result();
  }
  file_ = FileSend{own, offset, n, n};
  body_finished_ = true;  // later bodies are ignored; the file completes the response
  output_grew();
  return send_result();
}

void H1Connection::on_file_read(size_t n) {
  file_.offset += n;
  file_.to_read -= std::min<uint64_t>(n, file_.to_read);
}

void H1Connection::on_file_sent(size_t n) {
  if (file_.fd < 0) return;
  file_.to_send -= std::min<uint64_t>(n, file_.to_send);
  if (file_.to_send > 0) return;
  close_file();
  complete_response({});
}

// The file could not be read (err 0: it ended before its range did). The head is out, so
// the client can only learn of it by the close, as with any body cut short.
void H1Connection::on_file_error(int err) {
  if (file_.fd < 0) return;
  if (err == 0) {
    LOG_ERROR("file body: the file ended %llu bytes before its range did",
              static_cast<unsigned long long>(file_.to_read));
  } else {
    LOG_ERROR("file body: reading the file failed: %s", strerror(err));
  }
  close_file();
  disconnect("server_error");
  keep_alive_ = false;
  close_after_flush_ = true;
  response_ = Response::kComplete;
  request_pump();
}

void H1Connection::close_file() {
  if (file_.fd >= 0) ::close(file_.fd);
  file_ = FileSend{};
}

}  // namespace pagi::http
