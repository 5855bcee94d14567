// SPDX-License-Identifier: MIT
// DaemonConfig: voiced's settings from voiced.conf and the command line, checked and defaulted.
#pragma once

#include "audio/cpu_placement.h"
#include "codec/codec_config.h"
#include "codec/fec_controller.h"
#include "core/log.h"
#include "core/result.h"
#include "crypto/cipher_suite.h"
#include "net/fingerprint.h"
#include "net/socket.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace voice {

/// Whether an incoming call is answered without the user.
enum class AutoAnswer { Off, On, Allowlist };

struct DaemonConfig {
    std::string configDir;  ///< $XDG_CONFIG_HOME/voiced: identity, pins, peers
    std::string configPath; ///< the voiced.conf read (may not exist)
    std::string stateDir;   ///< $XDG_STATE_HOME/voiced: call history
    std::string name;       ///< our name at the relay (required)
    HostPort relay;         ///< the first of relays
    /// relay = host:port[, host:port...] (required; at most kMaxRelays): the
    /// relays of one service (a cluster), tried in turn when one fails.
    std::vector<HostPort> relays;
    static constexpr size_t kMaxRelays = 8;
    /// A relay key pinned ahead ("sha256:..."); otherwise pinned on first use.
    std::optional<Fingerprint> relayFingerprint;
    std::string captureDevice = "default";
    std::string playbackDevice = "default";
    /// audio_cpu = auto (default) | off | N: the CPU for a call's audio work.
    AudioCpuSetting audioCpu;
    CodecId codec = CodecId::Opus;
    std::chrono::microseconds frameDuration{20000};
    /// rate = 48000|44100: the sound devices' rate. PCM runs at it end to
    /// end; Opus always codes 48 kHz, through a resampler at 44.1 kHz.
    uint32_t sampleRate = 48000;
    uint32_t bitrate = 32000;
    FecMode fec = FecMode::Auto; ///< fec = auto|off: loss reports drive Opus in-band FEC
    /// Capture processing (echo_cancel, noise_suppression, auto_gain = on|off).
    bool echoCancel = true;
    bool noiseSuppression = true;
    bool autoGain = true;
    CipherSuite cipher = kDefaultCipherSuite;
    /// media = tunnel: never use UDP, carry media in the control connection
    /// (for networks that block UDP); media = auto (default): UDP, tunnel as fallback.
    bool forceTunnel = false;
    /// media_relay = host:port (numeric): send UDP media here instead of the
    /// relay's address and announced port, e.g. a UDP forwarder or a test's
    /// impairment proxy in front of the relay's media port. Unset: the relay's.
    std::optional<SocketAddress> mediaRelay;
    AutoAnswer autoAnswer = AutoAnswer::Off;
    std::vector<std::string> autoAnswerNames; ///< for AutoAnswer::Allowlist
    std::chrono::milliseconds ringTimeout{30000};
    LogLevel logLevel = LogLevel::Info;
    /// notifications = on|off: incoming and missed calls on the desktop
    /// (org.freedesktop.Notifications).
    bool notifications = true;
    /// ring = on|off: ring tone (callee), ringback and busy tone (caller) on the playback device.
    bool ringTones = true;
    /// ring_file = /abs/path.wav: the callee's ring from a 16-bit PCM WAV at
    /// 48 kHz (played in a loop) instead of the generated ring; empty: generated.
    std::string ringFile;

    bool autoAnswers(const std::string& peer) const;
    /// The codec's sample rate: the device rate for PCM, 48 kHz for Opus.
    uint32_t codecRate() const { return codec == CodecId::Pcm ? sampleRate : 48000; }
};

/// What the command line asked for; unset fields fall back to the file.
struct CommandLine {
    std::optional<std::string> configPath, name, relay, capture, playback, codec, autoAnswer,
        logLevel;
    bool help = false;
    bool version = false;
};

/// Parses argv (--config, --name, --relay, --capture, --playback, --codec,
/// --auto-answer, --log-level as "--opt VALUE" or "--opt=VALUE"; --help,
/// --version). InvalidArgument with a one-line message on anything else.
Result<CommandLine> parseCommandLine(int argc, char** argv);
/// The --help text.
std::string commandLineHelp();

/// Reads the config file (a missing file counts as empty), applies the
/// command line and checks every value. Errors name the file and line or
/// the option.
Result<DaemonConfig> loadDaemonConfig(const CommandLine& cmd);

} // namespace voice
