// SPDX-License-Identifier: MIT
// CallObserver: what the call manager tells desktop helpers (history, notifications, tones) about
// a call's life, beside the D-Bus signals.
//
// Called on the control thread, from inside CallManager; an observer must not
// block and must not call back into CallManager from inside a callback (post
// to the EventLoop instead).
#pragma once

#include "call_state.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace voice {

/// How a peer's key compares with its pin when the call arrives.
enum class PinState { Known, Verified, New, Changed };

/// "known", "verified", "new", "changed".
inline const char* pinStateName(PinState s) {
    switch (s) {
    case PinState::Known:
        return "known";
    case PinState::Verified:
        return "verified";
    case PinState::New:
        return "new";
    case PinState::Changed:
        return "changed";
    }
    return "known";
}

/// A call or attempt that ended, as the history records it.
struct CallRecord {
    std::string peer;
    bool outgoing = false;
    std::chrono::system_clock::time_point start{}; ///< when the attempt began
    bool answered = false;
    std::uint64_t durationS = 0; ///< answered to end; 0 if never answered
    EndReason reason = EndReason::Hangup;
    PinState pin = PinState::New; ///< how the peer's key compared with its pin
};

class CallObserver {
public:
    virtual ~CallObserver() = default;
    /// A peer calls us and the call rings (the SAS is known).
    virtual void incomingRinging(const std::string& /*peer*/, const std::string& /*fingerprint*/,
                                 PinState /*pin*/, const std::string& /*sas*/) {}
    /// We call a peer and its phone rings (the relay said Ringing).
    virtual void outgoingRinging(const std::string& /*peer*/) {}
    /// The call was answered (by us or by the peer).
    virtual void answered(const std::string& /*peer*/) {}
    /// A call or attempt ended; record.reason says how.
    virtual void ended(const CallRecord& /*record*/) {}
};

} // namespace voice
