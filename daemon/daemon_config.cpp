// SPDX-License-Identifier: MIT
// DaemonConfig: voiced's settings from voiced.conf and the command line.
#include "daemon_config.h"

#include "call_history.h"
#include "config/config_file.h"
#include "peer_names.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace voice {

namespace {

Status invalidOption(const std::string& option, const std::string& value, const std::string& why) {
    return {Errc::InvalidArgument,
            "invalid " + option + " '" + quoteForMessage(value) + "': " + why};
}

/// The items of "a, b,c" with the spaces around each trimmed ("" -> one empty item).
std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string item = text.substr(start, end - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        items.push_back(std::move(item));
        start = end + 1;
    }
    return items;
}

Result<std::vector<std::string>> parseNameList(const std::string& text, const std::string& what) {
    std::vector<std::string> names = splitList(text);
    if (names.size() > 256) {
        return invalidOption(what, text, "at most 256 names");
    }
    for (const std::string& name : names) {
        if (!isValidPeerName(name)) {
            return invalidOption(what, text,
                                 "expected off, on or a comma-separated list of peer names");
        }
    }
    return names;
}

/// "host:port[, host:port...]": the relays of one service, in the order tried.
Result<std::vector<HostPort>> parseRelayList(const std::string& text) {
    const std::vector<std::string> items = splitList(text);
    if (items.size() > DaemonConfig::kMaxRelays) {
        return Status(Errc::InvalidArgument,
                      "at most " + std::to_string(DaemonConfig::kMaxRelays) + " relays");
    }
    std::vector<HostPort> relays;
    for (const std::string& item : items) {
        auto hp = HostPort::parse(item);
        if (!hp.ok()) {
            return Status(Errc::InvalidArgument,
                          (items.size() > 1 ? "'" + quoteForMessage(item) + "': " : std::string()) +
                              hp.status().detail());
        }
        relays.push_back(*hp);
    }
    return relays;
}

Status applyAutoAnswer(DaemonConfig& c, const std::string& value, const std::string& what) {
    if (value == "off" || value == "no" || value == "false") {
        c.autoAnswer = AutoAnswer::Off;
        return {};
    }
    if (value == "on" || value == "yes" || value == "true") {
        c.autoAnswer = AutoAnswer::On;
        return {};
    }
    auto names = parseNameList(value, what);
    if (!names.ok()) {
        return names.status();
    }
    c.autoAnswer = AutoAnswer::Allowlist;
    c.autoAnswerNames = std::move(*names);
    return {};
}

std::string defaultConfigDir() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg != nullptr && xdg[0] == '/') {
        return std::string(xdg) + "/voiced";
    }
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + "/.config/voiced";
}

} // namespace

bool DaemonConfig::autoAnswers(const std::string& peer) const {
    switch (autoAnswer) {
    case AutoAnswer::Off:
        return false;
    case AutoAnswer::On:
        return true;
    case AutoAnswer::Allowlist:
        return std::find(autoAnswerNames.begin(), autoAnswerNames.end(), peer) !=
               autoAnswerNames.end();
    }
    return false;
}

std::string commandLineHelp() {
    return "Usage: voiced [OPTIONS]\n"
           "The voiced call daemon: registers at a relay, serves org.voiced.Voice1 on the\n"
           "session bus and runs end-to-end encrypted calls.\n\n"
           "  --config PATH        config file (default $XDG_CONFIG_HOME/voiced/voiced.conf)\n"
           "  --name NAME          our name at the relay\n"
           "  --relay HOST:PORT    the relay; a comma-separated list for a cluster's relays\n"
           "  --capture DEVICE     ALSA capture device\n"
           "  --playback DEVICE    ALSA playback device\n"
           "  --codec CODEC        opus or pcm\n"
           "  --auto-answer WHAT   off, on, or a comma-separated list of names\n"
           "  --log-level LEVEL    error, warning, notice, info, debug\n"
           "  --version            print the version and exit\n"
           "  --help               print this help and exit\n";
}

Result<CommandLine> parseCommandLine(int argc, char** argv) {
    CommandLine cmd;
    struct Opt {
        std::string_view name;
        std::optional<std::string> CommandLine::*field;
    };
    static const Opt kOpts[] = {
        {"--config", &CommandLine::configPath},
        {"--name", &CommandLine::name},
        {"--relay", &CommandLine::relay},
        {"--capture", &CommandLine::capture},
        {"--playback", &CommandLine::playback},
        {"--codec", &CommandLine::codec},
        {"--auto-answer", &CommandLine::autoAnswer},
        {"--log-level", &CommandLine::logLevel},
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            cmd.help = true;
            continue;
        }
        if (arg == "--version") {
            cmd.version = true;
            continue;
        }
        bool matched = false;
        for (const Opt& o : kOpts) {
            if (arg == o.name) {
                if (i + 1 >= argc) {
                    return Status(Errc::InvalidArgument, std::string(o.name) + " needs a value");
                }
                cmd.*(o.field) = std::string(argv[++i]);
                matched = true;
            } else if (arg.size() > o.name.size() && arg.starts_with(o.name) &&
                       arg[o.name.size()] == '=') {
                cmd.*(o.field) = std::string(arg.substr(o.name.size() + 1));
                matched = true;
            }
            if (matched) {
                break;
            }
        }
        if (!matched) {
            return Status(Errc::InvalidArgument,
                          "unknown option '" + quoteForMessage(arg) + "' (see --help)");
        }
    }
    return cmd;
}

Result<DaemonConfig> loadDaemonConfig(const CommandLine& cmd) {
    DaemonConfig c;
    c.configDir = defaultConfigDir();
    c.stateDir = defaultStateDir();
    c.configPath = cmd.configPath.value_or(c.configDir + "/voiced.conf");

    // Only the default file may be missing (a fresh install runs on --name
    // and --relay); a file named with --config must be there.
    auto loaded = ConfigFile::load(c.configPath);
    Result<ConfigFile> file =
        loaded.ok() || loaded.status().code() != Errc::NotFound || cmd.configPath
            ? std::move(loaded)
            : ConfigFile::parse("", c.configPath);
    if (!file.ok()) {
        return file.status();
    }
    if (Status s = file->checkKeys({"name",        "relay",         "relay_fingerprint",
                                    "capture",     "playback",      "audio_cpu",
                                    "codec",       "frame",         "bitrate",
                                    "fec",         "cipher",        "media",
                                    "media_relay", "auto_answer",   "ring_timeout",
                                    "log_level",   "notifications", "ring",
                                    "ring_file",   "echo_cancel",   "noise_suppression",
                                    "auto_gain",   "rate"});
        !s.ok()) {
        return s;
    }

    auto name = file->getString("name", std::string());
    if (!name.ok()) {
        return name.status();
    }
    c.name = cmd.name.value_or(*name);
    if (c.name.empty()) {
        return Status(Errc::InvalidArgument,
                      "no name: set 'name = ...' in " + c.configPath + " or pass --name");
    }
    if (!isValidPeerName(c.name)) {
        return invalidOption("name", c.name,
                             "use 1 to 32 characters from a-z, 0-9, '.', '_' and '-'");
    }

    std::string relayText;
    if (cmd.relay) {
        relayText = *cmd.relay;
    } else {
        if (!file->has("relay")) {
            return Status(Errc::InvalidArgument, "no relay: set 'relay = host:port' in " +
                                                     c.configPath + " or pass --relay");
        }
        auto text = file->getString("relay");
        if (!text.ok()) {
            return text.status();
        }
        relayText = *text;
    }
    auto relays = parseRelayList(relayText);
    if (!relays.ok()) {
        return invalidOption(cmd.relay ? "--relay" : "relay", relayText, relays.status().detail());
    }
    c.relays = std::move(*relays);
    c.relay = c.relays.front();

    if (file->has("relay_fingerprint")) {
        auto text = file->getString("relay_fingerprint");
        if (!text.ok()) {
            return text.status();
        }
        auto fp = Fingerprint::parse(*text);
        if (!fp.ok()) {
            return invalidOption("relay_fingerprint", *text, fp.status().detail());
        }
        c.relayFingerprint = *fp;
    }

    auto capture = file->getString("capture", std::string("default"), 256);
    auto playback = file->getString("playback", std::string("default"), 256);
    if (!capture.ok()) {
        return capture.status();
    }
    if (!playback.ok()) {
        return playback.status();
    }
    c.captureDevice = cmd.capture.value_or(*capture);
    c.playbackDevice = cmd.playback.value_or(*playback);
    if (c.captureDevice.empty() || c.playbackDevice.empty() || c.captureDevice.size() > 256 ||
        c.playbackDevice.size() > 256) {
        return Status(Errc::InvalidArgument, "device names must be 1 to 256 characters");
    }

    auto audioCpu = file->getString("audio_cpu", std::string("auto"), 16);
    if (!audioCpu.ok()) {
        return audioCpu.status();
    }
    auto placement = parseAudioCpu(*audioCpu);
    if (!placement.ok()) {
        return invalidOption("audio_cpu", *audioCpu, placement.status().detail());
    }
    c.audioCpu = *placement;

    auto codec = file->getChoice("codec", {"opus", "pcm"}, std::string("opus"));
    if (!codec.ok()) {
        return codec.status();
    }
    std::string codecText = cmd.codec.value_or(*codec);
    auto codecId = parseCodecId(codecText);
    if (!codecId.ok()) {
        return invalidOption("codec", codecText, "expected opus or pcm");
    }
    c.codec = *codecId;

    auto rate = file->getChoice("rate", {"48000", "44100"}, std::string("48000"));
    if (!rate.ok()) {
        return rate.status();
    }
    c.sampleRate = *rate == "44100" ? 44100 : 48000;

    auto frame = file->getDuration("frame", std::chrono::milliseconds(5),
                                   std::chrono::milliseconds(60), std::chrono::milliseconds(20));
    if (!frame.ok()) {
        return frame.status();
    }
    c.frameDuration = std::chrono::duration_cast<std::chrono::microseconds>(*frame);
    if (c.codec == CodecId::Pcm && c.frameDuration > CodecConfig::kMaxPcmFrame) {
        c.frameDuration = CodecConfig::kMaxPcmFrame;
    }
    auto bitrate =
        file->getInt("bitrate", CodecConfig::kMinOpusBitrate, CodecConfig::kMaxOpusBitrate, 32000);
    if (!bitrate.ok()) {
        return bitrate.status();
    }
    c.bitrate = static_cast<uint32_t>(*bitrate);
    // The combination, by the rules every call applies (voiced.conf(5)): an
    // Opus frame of 15 ms must stop the start, not fail each call later.
    CodecConfig check;
    check.codec = c.codec;
    check.frameDuration = c.frameDuration;
    check.bitrate = c.bitrate;
    check.sampleRate = c.codecRate();
    if (Status s = check.validate(); !s.ok()) {
        return Status(Errc::InvalidArgument,
                      c.configPath + ": frame and codec do not fit: " + s.detail());
    }

    auto fec = file->getChoice("fec", {"auto", "off"}, std::string("auto"));
    if (!fec.ok()) {
        return fec.status();
    }
    c.fec = *fec == "off" ? FecMode::Off : FecMode::Auto;

    for (auto [key, field] : {std::pair{"echo_cancel", &c.echoCancel},
                              std::pair{"noise_suppression", &c.noiseSuppression},
                              std::pair{"auto_gain", &c.autoGain}}) {
        auto onOff = file->getChoice(key, {"on", "off"}, std::string("on"));
        if (!onOff.ok()) {
            return onOff.status();
        }
        *field = *onOff == "on";
    }

    auto cipher = file->getChoice("cipher", {"aes-256-gcm", "aes-256-cbc-hmac-sha256"},
                                  std::string(cipherSuiteName(kDefaultCipherSuite)));
    if (!cipher.ok()) {
        return cipher.status();
    }
    c.cipher = parseCipherSuite(*cipher).value_or(kDefaultCipherSuite);

    auto media = file->getChoice("media", {"auto", "tunnel"}, std::string("auto"));
    if (!media.ok()) {
        return media.status();
    }
    c.forceTunnel = *media == "tunnel";

    if (file->has("media_relay")) {
        auto hp = file->getHostPort("media_relay");
        if (!hp.ok()) {
            return hp.status();
        }
        auto address = SocketAddress::fromHostPort(*hp);
        if (!address.ok()) {
            return invalidOption("media_relay", hp->host,
                                 "expected a numeric address: " + address.status().detail());
        }
        c.mediaRelay = *address;
    }

    auto autoAnswer = file->getString("auto_answer", std::string("off"));
    if (!autoAnswer.ok()) {
        return autoAnswer.status();
    }
    if (Status s = applyAutoAnswer(c, cmd.autoAnswer.value_or(*autoAnswer),
                                   cmd.autoAnswer ? "--auto-answer" : "auto_answer");
        !s.ok()) {
        return s;
    }

    auto ring = file->getDuration("ring_timeout", std::chrono::seconds(1), std::chrono::hours(1),
                                  std::chrono::milliseconds(30000));
    if (!ring.ok()) {
        return ring.status();
    }
    c.ringTimeout = *ring;

    auto notifications = file->getChoice("notifications", {"on", "off"}, std::string("on"));
    if (!notifications.ok()) {
        return notifications.status();
    }
    c.notifications = *notifications == "on";
    auto ringTones = file->getChoice("ring", {"on", "off"}, std::string("on"));
    if (!ringTones.ok()) {
        return ringTones.status();
    }
    c.ringTones = *ringTones == "on";
    auto ringFile = file->getString("ring_file", std::string());
    if (!ringFile.ok()) {
        return ringFile.status();
    }
    if (!ringFile->empty() && (*ringFile)[0] != '/') {
        return invalidOption("ring_file", *ringFile, "expected an absolute path to a WAV file");
    }
    c.ringFile = *ringFile;

    auto level = file->getChoice("log_level", {"error", "warning", "notice", "info", "debug"},
                                 std::string("info"));
    if (!level.ok()) {
        return level.status();
    }
    std::string levelText = cmd.logLevel.value_or(*level);
    if (!parseLogLevel(levelText, c.logLevel)) {
        return invalidOption("log level", levelText,
                             "expected error, warning, notice, info or debug");
    }
    return c;
}

} // namespace voice
