// SPDX-License-Identifier: MIT
// EventLoop: one thread's epoll loop with fd watches, timers, cross-thread posts and signals.
#pragma once

#include "core/result.h"
#include "core/unique_fd.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <sys/epoll.h>
#include <thread>
#include <unordered_map>
#include <vector>

namespace voice {

/// An epoll loop owned by one thread (the "loop thread": the one calling run()).
///
/// Threading: every method except post() and stop() is called from the loop
/// thread, or from any single thread before run() starts. post() and stop()
/// are thread-safe and wake the loop.
///
/// Callbacks may add, modify and remove any watch or timer, including their
/// own: a watch removed during a dispatch round gets no further callbacks in
/// that round, even if its fd number is reused by a new watch at once.
/// Callbacks are control-plane code (std::function, may allocate): never put
/// an EventLoop on a real-time audio thread.
class EventLoop {
public:
    /// Event bits passed to and from fd watches (the epoll bits themselves).
    static constexpr uint32_t kReadable = EPOLLIN;
    static constexpr uint32_t kWritable = EPOLLOUT;
    /// Reported to callbacks even when not asked for. Level-triggered like
    /// the rest: a hung-up fd keeps reporting until its watch is removed.
    static constexpr uint32_t kHangup = EPOLLHUP | EPOLLRDHUP;
    static constexpr uint32_t kError = EPOLLERR;

    using Clock = std::chrono::steady_clock;
    using FdCallback = std::function<void(uint32_t events)>;
    using TimerCallback = std::function<void()>;
    using SignalCallback = std::function<void(int signal)>;
    using TimerId = uint64_t;

    /// Creates the epoll, eventfd and timerfd descriptors.
    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Watches fd for events (kReadable | kWritable; kHangup/kError always
    /// arrive). Level-triggered. The loop does not own fd: remove the watch
    /// before closing it. Fails if fd is already watched.
    Status addFd(int fd, uint32_t events, FdCallback callback);
    /// Changes the events of an existing watch.
    Status modifyFd(int fd, uint32_t events);
    /// Stops watching fd. No-op if fd is not watched.
    void removeFd(int fd);
    bool isWatched(int fd) const { return fds_.count(fd) != 0; }

    /// Runs callback once after delay. Timers due at the same instant fire
    /// in the order they were added. Ids are never reused.
    TimerId addTimer(Clock::duration delay, TimerCallback callback);
    /// Runs callback every interval (first run after one interval) until
    /// cancelled. Late ticks are not bunched up: a late timer skips ahead.
    TimerId addRepeatingTimer(Clock::duration interval, TimerCallback callback);
    /// Cancels a timer; true if it was still pending. Safe from any
    /// callback, including the timer's own.
    bool cancelTimer(TimerId id);
    size_t timerCount() const { return timers_.size(); }

    /// Blocks signals (SIGTERM, SIGINT, SIGHUP...) in the calling thread and
    /// delivers them through a signalfd to callback on the loop thread.
    /// Call it from the loop thread before starting other threads: threads
    /// inherit the mask, and a signal is only queued for the signalfd when
    /// every thread blocks it. Can be called once per loop.
    Status watchSignals(const std::vector<int>& signals, SignalCallback callback);

    /// Runs fn on the loop thread soon, in posting order. Thread-safe.
    void post(std::function<void()> fn);
    /// Makes run() return after the current dispatch round; a stop() before
    /// run() makes the next run() return at once. Thread-safe.
    void stop();

    /// Dispatches events until stop(). Returns an error only if epoll fails.
    Status run();
    /// Waits at most maxWait for events, dispatches one round and returns
    /// (tests and embedding loops use this).
    Status runOnce(std::chrono::milliseconds maxWait);

    /// True on the thread currently inside run()/runOnce().
    bool isLoopThread() const { return std::this_thread::get_id() == loopThread_.load(); }

private:
    struct Watch {
        int fd;
        uint64_t id;
        FdCallback callback;
    };
    struct Timer {
        uint64_t seq;
        Clock::duration interval; // zero for one-shot
        std::shared_ptr<TimerCallback> callback;
    };
    struct HeapEntry {
        Clock::time_point deadline;
        uint64_t seq; // insertion order, breaks ties; also detects stale entries
        TimerId id;
        bool operator>(const HeapEntry& o) const {
            return deadline != o.deadline ? deadline > o.deadline : seq > o.seq;
        }
    };

    EventLoop() = default;
    Status init();
    Status dispatch(int timeoutMs);
    TimerId schedule(Clock::duration delay, Clock::duration interval, TimerCallback callback);
    void armTimerFd();
    void runDueTimers();
    void runPosted();
    void compactHeap();

    UniqueFd epoll_;
    UniqueFd wakeFd_;   // eventfd for post() and stop()
    UniqueFd timerFd_;  // timerfd armed to the earliest deadline
    UniqueFd signalFd_; // signalfd after watchSignals()
    SignalCallback signalCallback_;

    std::unordered_map<int, std::shared_ptr<Watch>> fds_; // by fd
    std::unordered_map<uint64_t, std::shared_ptr<Watch>> watchesById_;
    uint64_t nextWatchId_ = 16; // small ids are reserved for internal fds

    std::unordered_map<TimerId, Timer> timers_;
    std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
    TimerId nextTimerId_ = 1;
    uint64_t nextSeq_ = 1;
    Clock::time_point armedFor_ = Clock::time_point::max();

    std::mutex postMutex_;
    std::vector<std::function<void()>> posted_; // guarded by postMutex_
    std::atomic<bool> stopRequested_{false};
    std::atomic<std::thread::id> loopThread_{};
};

} // namespace voice
