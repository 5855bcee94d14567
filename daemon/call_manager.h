// SPDX-License-Identifier: MIT
// CallManager: voiced's CallControl: the call state machine driven by D-Bus and the relay, with the
// end-to-end handshake, peer pinning and the audio pipeline.
//
// Threads: everything here runs on the control thread (the EventLoop that
// owns the relay connection and D-Bus). The only objects shared with other
// threads are the AudioPipeline (its own four threads) and the
// UdpTransport it sends and receives through; this class only starts,
// stops and reads statistics from them.
#pragma once

#include "call_control.h"
#include "call_observer.h"
#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "daemon_config.h"
#include "net/event_loop.h"
#include "peer_store.h"
#include "pipeline/audio_pipeline.h"
#include "relay_client.h"
#include "udp_transport.h"
#include "wire/messages.h"

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace voice {

class DBusService;

class CallManager final : public CallControl {
public:
    /// How long a call with running media survives a lost relay connection
    /// while we reconnect and resume it (then it ends with peer-lost).
    static constexpr std::chrono::seconds kResumeBound{10};

    CallManager(EventLoop& loop, const DaemonConfig& config, const Identity& identity,
                PeerStore& peers, RelayClient& relay);
    ~CallManager() override;

    /// The D-Bus object to notify (set once it exists; may stay null in tests).
    void setService(DBusService* service) { service_ = service; }
    /// Also tell observer about each call (history, notifications, tones);
    /// it must outlive this object or be removed first.
    void addObserver(CallObserver* observer) { observers_.push_back(observer); }

    // CallControl
    CallResult call(const std::string& peer) override;
    CallResult answer() override;
    CallResult reject() override;
    CallResult hangup() override;
    CallResult setMuted(bool muted) override;
    CallResult trust(const std::string& peer, const std::string& fingerprint) override;
    CallResult reregister() override;
    CallSnapshot snapshot() const override;

    // Relay events (from RelayClient's handlers).
    void onRegistered(const msg::Registered& registered);
    void onRelayMessage(const msg::Message& message);
    void onRelayLost();
    /// The relay client stopped retrying (replaced by another device, or refused).
    void onRegistrationStopped();

    /// True unless a call's recorder or player made no progress since the
    /// last call of this (for the watchdog, called every WATCHDOG_USEC / 2).
    bool audioHealthy();
    /// Ends any call (SIGTERM): hangs up at the relay and stops the audio.
    void shutdown();

private:
    struct ActiveCall {
        // Defined out of line: clang cannot use the default member
        // initializers below for std::optional::emplace() inside this class.
        ActiveCall();
        bool haveId = false;
        CallId id{};
        bool caller = false;
        std::string peerFingerprint; ///< from the relay's Ringing/IncomingCall
        bool started = false;        ///< CallStarted arrived
        uint64_t sessionId = 0;
        std::optional<Handshake> handshake;
        /// The short authentication string, once both hellos are known.
        std::string sas;
        /// The finished handshake's keys, until CallStarted gives the session.
        std::optional<HandshakeResult> keys;
        /// IncomingCall was signalled (callee; it waits for the SAS).
        bool announced = false;
        std::unique_ptr<UdpTransport> transport;
        std::unique_ptr<AudioPipeline> pipeline;
        std::string cipher;
        /// The audio format the handshake chose (ours unless the peer's differs).
        std::optional<CodecId> codec;
        std::chrono::steady_clock::time_point answeredAt{};
        bool answered = false;
        /// The relay's latest token for getting this call back after the
        /// control connection breaks (opaque; never logged).
        std::vector<uint8_t> resumeToken;
        SecureBytes routeKey; ///< from the latest ResumeToken: authenticates our UDP probes
        /// The relay connection is gone; audio and keys are kept while we
        /// reconnect and resume (Resume sent once registered again).
        bool away = false;
        std::chrono::steady_clock::time_point awaySince{};
        /// For CallObserver: when the attempt began, how the peer's key compared.
        std::chrono::system_clock::time_point startedAt = std::chrono::system_clock::now();
        PinState pin = PinState::New;
    };

    void handleRinging(const msg::Ringing& m);
    void handleIncoming(const msg::IncomingCall& m);
    void handleCallStarted(const msg::CallStarted& m);
    void handleHangup(const msg::Hangup& m);
    void handleHandshake(const msg::E2eHandshake& m);
    void handleTunnel(const msg::MediaTunnel& m);
    void handleResumeToken(const msg::ResumeToken& m);
    /// The call was resumed at the relay, or ended while away: back to normal reconnects.
    void leaveAway();
    bool sameCall(const CallId& id) const;
    /// The relay answers every Call, in order, with one of Ringing, Busy,
    /// Offline or Error{bad-state}. Pops the oldest unanswered attempt:
    /// nullopt if there is none (a stale answer), true if it was cancelled
    /// (hung up before its answer, or lost glare), false for the current one.
    std::optional<bool> takeAnswer();
    /// Checks a peer key against the pins; false (and the call is ended) when it changed.
    bool checkPin(const std::string& peer, const std::string& fingerprint);
    /// Caller: sends the CallerHello (on Ringing, so the SAS is known while ringing).
    void startHandshake();
    /// Callee: the SAS is known; signals IncomingCall and auto-answers.
    void announceIncoming();
    void finishHandshake();
    /// Our own audio format as the handshake offers it (voiced.conf codec,
    /// rate, frame).
    MediaFormat ownMediaFormat() const;
    /// Starts the media once both the keys and the session id are there.
    void maybeStartMedia();
    Status startMedia(HandshakeResult result);
    void stopMedia();
    /// Ends the call locally: optionally tells the relay, stops media, reports.
    void endCall(EndReason reason, std::optional<HangupReason> tellRelay);
    void failCall(const std::string& why);
    void updateStats();
    void notifyState();
    /// The CallRecord of the current call so far (peer and reason filled in by the caller).
    CallRecord recordOfCall() const;
    void notifyEnded(CallRecord record, const std::string& peer, EndReason reason);
    template <typename F>
    void tellObservers(F&& f) {
        for (CallObserver* o : observers_) {
            f(*o);
        }
    }

    EventLoop& loop_;
    const DaemonConfig& config_;
    const Identity& identity_;
    PeerStore& peers_;
    RelayClient& relay_;
    DBusService* service_ = nullptr;
    std::vector<CallObserver*> observers_;
    CallStateMachine machine_;
    bool muted_ = false;
    std::optional<ActiveCall> call_;
    std::optional<CallStats> stats_;
    std::string lastPeer_, lastPeerFingerprint_; ///< for Trust(peer, "")
    EventLoop::TimerId statsTimer_ = 0;
    EventLoop::TimerId probeTimer_ = 0;
    EventLoop::TimerId ringTimer_ = 0;
    EventLoop::TimerId awayTimer_ = 0;
    /// Calls sent to the relay and not answered yet, oldest first. A
    /// cancelled one's Ringing gets a Hangup; its other answers are ignored.
    struct Attempt {
        std::string callee;
        bool cancelled = false;
    };
    std::deque<Attempt> unanswered_;
    uint64_t lastCaptured_ = 0; ///< audio progress at the last audioHealthy()
    uint64_t lastPlayed_ = 0;
};

} // namespace voice
