// SHA-1 (FIPS 180-4), only for the WebSocket handshake's Sec-WebSocket-Accept: small and
// dependency-free so src/http needs no TLS library. Not for anything security-relevant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pagi {

class Sha1 {
 public:
  static constexpr size_t kDigestBytes = 20;
  using Digest = std::array<uint8_t, kDigestBytes>;

  Sha1();
  void update(std::string_view bytes);
  // Pads and returns the digest; the object must be reset() before reuse.
  Digest finish();
  void reset();

 private:
  void block(const uint8_t* p);

  uint32_t h_[5]{};
  uint64_t length_ = 0;  // bytes hashed so far
  uint8_t buf_[64]{};
  size_t buffered_ = 0;
};

Sha1::Digest sha1(std::string_view bytes);

}  // namespace pagi
