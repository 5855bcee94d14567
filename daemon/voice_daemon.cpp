// SPDX-License-Identifier: MIT
// VoiceDaemon: wires voiced together.
#include "voice_daemon.h"

#include "config/secure_file.h"
#include "core/log.h"
#include "dbus_service.h"
#include "net/systemd.h"

#include <csignal>
#include <filesystem>
#include <poll.h>

namespace voice {

Result<std::unique_ptr<VoiceDaemon>> VoiceDaemon::create(DaemonConfig config) {
    // $XDG_CONFIG_HOME itself may not exist yet on a fresh account.
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(config.configDir).parent_path(),
                                        ignored);
    if (Status s = ensurePrivateDirectory(config.configDir); !s.ok()) {
        return s;
    }
    auto identity = Identity::loadOrCreate(config.configDir + "/identity.pem");
    if (!identity.ok()) {
        return identity.status();
    }
    auto relays = KnownRelays::load(config.configDir + "/known_relays");
    if (!relays.ok()) {
        return relays.status();
    }
    auto peers = PeerStore::load(config.configDir + "/peers");
    if (!peers.ok()) {
        return peers.status();
    }
    std::unique_ptr<VoiceDaemon> d(new VoiceDaemon(std::move(config), std::move(*identity),
                                                   std::move(*relays), std::move(*peers)));
    auto loop = EventLoop::create();
    if (!loop.ok()) {
        return loop.status();
    }
    d->loop_ = std::move(*loop);
    // Call history: a state directory that cannot be made only costs the
    // history its file (kept in memory, with a warning).
    std::string historyPath = d->config_.stateDir + "/history";
    std::filesystem::create_directories(std::filesystem::path(d->config_.stateDir).parent_path(),
                                        ignored);
    if (Status s = ensurePrivateDirectory(d->config_.stateDir); !s.ok()) {
        LOG_WARNING("call history kept in memory only: %s", s.toString().c_str());
        historyPath.clear();
    }
    d->history_ = std::make_unique<CallHistory>(historyPath);
    return d;
}

VoiceDaemon::VoiceDaemon(DaemonConfig config, Identity identity, KnownRelays relays,
                         PeerStore peers)
    : config_(std::move(config)), identity_(std::move(identity)), knownRelays_(std::move(relays)),
      peers_(std::move(peers)) {}

VoiceDaemon::~VoiceDaemon() {
    if (calls_) {
        calls_->setService(nullptr);
        calls_->shutdown();
    }
    notifier_.reset();
    service_.reset();
    bus_.reset();
    calls_.reset();
    relay_.reset();
}

void VoiceDaemon::onSignal(int signal) {
    if (stopping_) {
        return;
    }
    LOG_NOTICE("signal %d: hanging up and exiting", signal);
    stopping_ = true;
    (void)notifyStopping();
    calls_->shutdown();
    // Give the hangup a moment to reach the relay, then close.
    loop_->addTimer(std::chrono::milliseconds(200), [this] {
        relay_->stop();
        quit_ = true;
    });
}

void VoiceDaemon::feedWatchdog() {
    // Fed from the control loop, and only while a call's audio moves.
    if (calls_->audioHealthy()) {
        (void)notifyWatchdog();
    } else {
        LOG_WARNING("audio threads made no progress; not feeding the watchdog");
    }
}

int VoiceDaemon::run() {
    if (Status s = loop_->watchSignals({SIGTERM, SIGINT}, [this](int sig) { onSignal(sig); });
        !s.ok()) {
        LOG_ERROR("signals: %s", s.toString().c_str());
        return 1;
    }
    std::signal(SIGPIPE, SIG_IGN);

    RelayClient::Handlers h;
    h.onRegistered = [this](const msg::Registered& r) { calls_->onRegistered(r); };
    h.onMessage = [this](const msg::Message& m) { calls_->onRelayMessage(m); };
    h.onLost = [this](const Status&) { calls_->onRelayLost(); };
    h.onStopped = [this](RelayClient::State, const std::string&) {
        calls_->onRegistrationStopped();
    };
    h.onFatal = [this](const Status& s) {
        LOG_ERROR("%s", s.detail().c_str());
        exitCode_ = 1;
        stopping_ = true;
        calls_->shutdown();
        quit_ = true;
    };
    relay_ = std::make_unique<RelayClient>(*loop_, config_, identity_, knownRelays_, std::move(h));
    calls_ = std::make_unique<CallManager>(*loop_, config_, identity_, peers_, *relay_);
    calls_->addObserver(history_.get());
    if (config_.ringTones) {
        tones_ = std::make_unique<CallTones>(config_);
        calls_->addObserver(tones_.get());
    }

    try {
        bus_ = sdbus::createSessionBusConnection();
        service_ = std::make_unique<DBusService>(*bus_, *calls_);
        bus_->requestName(DBusService::kBusName);
    } catch (const sdbus::Error& e) {
        LOG_ERROR("D-Bus: cannot serve %s on the session bus: %s", DBusService::kBusName,
                  e.getMessage().c_str());
        return 1;
    }
    calls_->setService(service_.get());
    service_->setDirectory(history_.get(), &peers_);
    if (config_.notifications) {
        try {
            notifier_ = std::make_unique<DesktopNotifier>(*bus_, *calls_);
            calls_->addObserver(notifier_.get());
        } catch (const sdbus::Error& e) {
            LOG_WARNING("desktop notifications off: %s", e.getMessage().c_str());
        }
    }
    LOG_NOTICE("voiced %s as %s (key %s), relay %s", "ready", config_.name.c_str(),
               identity_.fingerprint().c_str(), config_.relay.toString().c_str());

    const auto initialPoll = bus_->getEventLoopPollData();
    const int busFd = initialPoll.fd;
    if (Status s = loop_->addFd(busFd, EventLoop::kReadable, [](uint32_t) {}); !s.ok()) {
        LOG_ERROR("D-Bus fd: %s", s.toString().c_str());
        return 1;
    }
    relay_->start();
    (void)notifyReady();
    (void)notifyStatus("serving " + config_.name);
    if (auto wd = watchdogInterval()) {
        loop_->addRepeatingTimer(*wd / 2, [this] { feedWatchdog(); });
    }

    // The control loop: D-Bus first (handlers run inside processPendingRequest),
    // then one round of the EventLoop bounded by sd-bus's own timeout.
    for (;;) {
        try {
            while (bus_->processPendingRequest()) {
            }
        } catch (const sdbus::Error& e) {
            LOG_ERROR("D-Bus connection failed: %s", e.getMessage().c_str());
            exitCode_ = 1;
            break;
        }
        const auto pd = bus_->getEventLoopPollData();
        uint32_t events = EventLoop::kReadable;
        if (pd.events & POLLOUT) {
            events |= EventLoop::kWritable;
        }
        (void)loop_->modifyFd(busFd, events);
        int timeout = pd.getPollTimeout();
        if (timeout < 0 || timeout > 1000) {
            timeout = 1000;
        }
        Status s = loop_->runOnce(std::chrono::milliseconds(timeout));
        if (!s.ok()) {
            if (s.code() != Errc::Closed) {
                LOG_ERROR("event loop: %s", s.toString().c_str());
                exitCode_ = 1;
            }
            break;
        }
        if (quit_) {
            break;
        }
    }
    // Flush the last D-Bus signals (CallEnded) before leaving.
    try {
        while (bus_->processPendingRequest()) {
        }
    } catch (const sdbus::Error&) {
    }
    return exitCode_;
}

} // namespace voice
