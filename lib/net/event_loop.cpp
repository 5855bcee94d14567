// SPDX-License-Identifier: MIT
// EventLoop: epoll dispatch, a timerfd armed to the earliest timer, eventfd wake-ups, signalfd.
#include "net/event_loop.h"

#include "core/log.h"

#include <cerrno>
#include <csignal>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace voice {

namespace {
// epoll data of the loop's own descriptors; watches get ids from 16 upwards.
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kTimerId = 2;
constexpr uint64_t kSignalId = 3;
constexpr int kMaxEvents = 64;
} // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    std::unique_ptr<EventLoop> loop(new EventLoop());
    if (Status s = loop->init(); !s) {
        return s;
    }
    return loop;
}

EventLoop::~EventLoop() = default;

Status EventLoop::init() {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) {
        return Status::fromErrno(Errc::Io, errno, "epoll_create1");
    }
    wakeFd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wakeFd_) {
        return Status::fromErrno(Errc::Io, errno, "eventfd");
    }
    timerFd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timerFd_) {
        return Status::fromErrno(Errc::Io, errno, "timerfd_create");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeFd_.get(), &ev) != 0) {
        return Status::fromErrno(Errc::Io, errno, "epoll_ctl(eventfd)");
    }
    ev.data.u64 = kTimerId;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timerFd_.get(), &ev) != 0) {
        return Status::fromErrno(Errc::Io, errno, "epoll_ctl(timerfd)");
    }
    return {};
}

Status EventLoop::addFd(int fd, uint32_t events, FdCallback callback) {
    if (fd < 0 || !callback) {
        return Status(Errc::InvalidArgument, "addFd: bad fd or empty callback");
    }
    if (fds_.count(fd) != 0) {
        return Status(Errc::InvalidArgument,
                      "addFd: fd " + std::to_string(fd) + " already watched");
    }
    auto watch = std::make_shared<Watch>(Watch{fd, nextWatchId_++, std::move(callback)});
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP;
    ev.data.u64 = watch->id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return Status::fromErrno(Errc::Io, errno, "epoll_ctl(ADD)");
    }
    fds_.emplace(fd, watch);
    watchesById_.emplace(watch->id, std::move(watch));
    return {};
}

Status EventLoop::modifyFd(int fd, uint32_t events) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return Status(Errc::NotFound, "modifyFd: fd " + std::to_string(fd) + " not watched");
    }
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP;
    ev.data.u64 = it->second->id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
        return Status::fromErrno(Errc::Io, errno, "epoll_ctl(MOD)");
    }
    return {};
}

void EventLoop::removeFd(int fd) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return;
    }
    // Failure means the fd was already closed, which removed it from epoll.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    watchesById_.erase(it->second->id);
    fds_.erase(it);
}

EventLoop::TimerId EventLoop::addTimer(Clock::duration delay, TimerCallback callback) {
    return schedule(delay, Clock::duration::zero(), std::move(callback));
}

EventLoop::TimerId EventLoop::addRepeatingTimer(Clock::duration interval, TimerCallback callback) {
    // A zero interval would spin the loop; one microsecond is the floor.
    if (interval < std::chrono::microseconds(1)) {
        interval = std::chrono::microseconds(1);
    }
    return schedule(interval, interval, std::move(callback));
}

EventLoop::TimerId EventLoop::schedule(Clock::duration delay, Clock::duration interval,
                                       TimerCallback callback) {
    if (delay < Clock::duration::zero()) {
        delay = Clock::duration::zero();
    }
    const TimerId id = nextTimerId_++;
    const uint64_t seq = nextSeq_++;
    timers_.emplace(id, Timer{seq, interval, std::make_shared<TimerCallback>(std::move(callback))});
    heap_.push(HeapEntry{Clock::now() + delay, seq, id});
    armTimerFd();
    return id;
}

bool EventLoop::cancelTimer(TimerId id) {
    // The heap entry stays behind and is skipped when it surfaces; compact
    // when stale entries dominate so cancel-heavy users stay bounded.
    const bool erased = timers_.erase(id) != 0;
    if (erased && heap_.size() > 64 && heap_.size() > 2 * timers_.size()) {
        compactHeap();
    }
    return erased;
}

void EventLoop::compactHeap() {
    std::vector<HeapEntry> live;
    live.reserve(timers_.size());
    while (!heap_.empty()) {
        const HeapEntry e = heap_.top();
        heap_.pop();
        auto it = timers_.find(e.id);
        if (it != timers_.end() && it->second.seq == e.seq) {
            live.push_back(e);
        }
    }
    heap_ = decltype(heap_)(std::greater<>(), std::move(live));
}

void EventLoop::armTimerFd() {
    // Drop stale entries from the top so the timerfd is armed for a live timer.
    while (!heap_.empty()) {
        auto it = timers_.find(heap_.top().id);
        if (it != timers_.end() && it->second.seq == heap_.top().seq) {
            break;
        }
        heap_.pop();
    }
    const Clock::time_point next = heap_.empty() ? Clock::time_point::max() : heap_.top().deadline;
    if (next == armedFor_) {
        return;
    }
    armedFor_ = next;
    itimerspec spec{};
    if (next != Clock::time_point::max()) {
        // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch matches.
        auto ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count();
        if (ns <= 0) {
            ns = 1; // all-zero would disarm
        }
        spec.it_value.tv_sec = ns / 1000000000;
        spec.it_value.tv_nsec = ns % 1000000000;
    }
    if (::timerfd_settime(timerFd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
        LOG_ERROR("timerfd_settime failed: errno %d", errno);
    }
}

void EventLoop::runDueTimers() {
    uint64_t expirations;
    while (::read(timerFd_.get(), &expirations, sizeof(expirations)) > 0) {
    }
    armedFor_ = Clock::time_point::max(); // the timerfd is disarmed after firing

    // Only timers due now run in this round; ones they add wait for the next,
    // so a timer re-adding itself with zero delay cannot starve fd events.
    const Clock::time_point now = Clock::now();
    std::vector<HeapEntry> due;
    while (!heap_.empty() && heap_.top().deadline <= now) {
        due.push_back(heap_.top());
        heap_.pop();
    }
    for (const HeapEntry& e : due) {
        auto it = timers_.find(e.id);
        if (it == timers_.end() || it->second.seq != e.seq) {
            continue; // cancelled
        }
        // Keep the callback alive even if it cancels its own timer.
        std::shared_ptr<TimerCallback> callback = it->second.callback;
        const Clock::duration interval = it->second.interval;
        if (interval == Clock::duration::zero()) {
            timers_.erase(it);
        } else {
            Clock::time_point next = e.deadline + interval;
            if (next <= now) {
                // Late: skip the missed ticks instead of firing them in a burst.
                const auto missed = (now - e.deadline) / interval;
                next = e.deadline + (missed + 1) * interval;
            }
            const uint64_t seq = nextSeq_++;
            it->second.seq = seq;
            heap_.push(HeapEntry{next, seq, e.id});
        }
        (*callback)();
    }
    armTimerFd();
}

Status EventLoop::watchSignals(const std::vector<int>& signals, SignalCallback callback) {
    if (signalFd_) {
        return Status(Errc::InvalidArgument, "watchSignals: already watching signals");
    }
    sigset_t set;
    sigemptyset(&set);
    for (int sig : signals) {
        if (sigaddset(&set, sig) != 0) {
            return Status(Errc::InvalidArgument, "watchSignals: bad signal " + std::to_string(sig));
        }
    }
    if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
        return Status::fromErrno(Errc::Io, err, "pthread_sigmask");
    }
    UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd) {
        return Status::fromErrno(Errc::Io, errno, "signalfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kSignalId;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
        return Status::fromErrno(Errc::Io, errno, "epoll_ctl(signalfd)");
    }
    signalFd_ = std::move(fd);
    signalCallback_ = std::move(callback);
    return {};
}

void EventLoop::post(std::function<void()> fn) {
    {
        std::lock_guard lock(postMutex_);
        posted_.push_back(std::move(fn));
    }
    const uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop wakes anyway.
    [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof(one));
}

void EventLoop::stop() {
    stopRequested_.store(true);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof(one));
}

void EventLoop::runPosted() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wakeFd_.get(), &count, sizeof(count));
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(postMutex_);
        batch.swap(posted_);
    }
    for (auto& fn : batch) {
        fn();
    }
}

Status EventLoop::run() {
    // exchange() consumes the request: a stop() that raced ahead of run()
    // is not lost, and the next run() starts afresh.
    while (!stopRequested_.exchange(false)) {
        if (Status s = dispatch(-1); !s) {
            return s;
        }
    }
    return {};
}

Status EventLoop::runOnce(std::chrono::milliseconds maxWait) {
    return dispatch(static_cast<int>(std::max<int64_t>(0, maxWait.count())));
}

Status EventLoop::dispatch(int timeoutMs) {
    loopThread_.store(std::this_thread::get_id());
    epoll_event events[kMaxEvents];
    int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeoutMs);
    if (n < 0) {
        loopThread_.store(std::thread::id());
        if (errno == EINTR) {
            return {};
        }
        return Status::fromErrno(Errc::Io, errno, "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kWakeId) {
            runPosted();
        } else if (id == kTimerId) {
            runDueTimers();
        } else if (id == kSignalId) {
            signalfd_siginfo info;
            while (::read(signalFd_.get(), &info, sizeof(info)) == sizeof(info)) {
                if (signalCallback_) {
                    signalCallback_(static_cast<int>(info.ssi_signo));
                }
            }
        } else {
            // Looked up by id, not fd: a watch removed earlier in this round
            // is gone, and a new watch on a reused fd number has a new id.
            auto it = watchesById_.find(id);
            if (it == watchesById_.end()) {
                continue;
            }
            std::shared_ptr<Watch> watch = it->second; // survives removeFd() in the callback
            watch->callback(events[i].events);
        }
    }
    loopThread_.store(std::thread::id());
    return {};
}

} // namespace voice
