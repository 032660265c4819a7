// systemd's readiness protocol (sd_notify) without libsystemd: one datagram to the unix
// socket named by NOTIFY_SOCKET ('@' = abstract namespace). A no-op when it is not set.
#pragma once

#include <string_view>

namespace pagi::cli {

// Sends e.g. "READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", "MAINPID=123".
// Returns false only when NOTIFY_SOCKET is set and the datagram could not be sent.
bool notify_systemd(std::string_view state);

// "RELOADING=1" with the MONOTONIC_USEC systemd wants since v253 (Type=notify-reload).
bool notify_systemd_reloading();

}  // namespace pagi::cli
