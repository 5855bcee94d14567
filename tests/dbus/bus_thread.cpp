// SPDX-License-Identifier: MIT
// BusThread (tests): a session-bus connection processed on its own thread.
#include "bus_thread.h"

#include <cerrno>
#include <cstdint>
#include <future>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace voice::test {

BusThread::BusThread()
    : connection_(sdbus::createSessionBusConnection()),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wake_) {
        throw std::runtime_error("eventfd failed");
    }
    thread_ = std::thread([this] { loop(); });
}

BusThread::~BusThread() {
    stop_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
}

void BusThread::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void BusThread::runSync(const std::function<void()>& task) {
    std::promise<void> done;
    auto future = done.get_future();
    post([&] {
        try {
            task();
            done.set_value();
        } catch (...) {
            done.set_exception(std::current_exception());
        }
    });
    future.get();
}

void BusThread::runTasks() {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = ::read(wake_.get(), &count, sizeof count);
    for (;;) {
        std::function<void()> task;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (tasks_.empty()) {
                return;
            }
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        task();
    }
}

void BusThread::loop() {
    while (!stop_) {
        while (connection_->processPendingRequest()) {
        }
        runTasks();
        // A task may have queued outgoing messages; flush them before sleeping.
        while (connection_->processPendingRequest()) {
        }
        const auto poll = connection_->getEventLoopPollData();
        pollfd fds[2] = {{poll.fd, poll.events, 0}, {wake_.get(), POLLIN, 0}};
        if (::poll(fds, 2, poll.getPollTimeout()) < 0 && errno != EINTR) {
            return;
        }
    }
    runTasks();
}

} // namespace voice::test
