// SPDX-License-Identifier: MIT
// BusThread (tests): a session-bus connection processed on its own "control thread", with post().
//
// Stands in for voiced's control thread: the D-Bus service and its
// CallControl live on this thread only, and the test reaches them with
// runSync()/post(), as the daemon's other threads will.
#pragma once

#include "core/unique_fd.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <sdbus-c++/sdbus-c++.h>
#include <thread>

namespace voice::test {

class BusThread {
public:
    /// Connects to the session bus and starts the loop thread.
    BusThread();
    /// Runs queued tasks, then stops the thread and closes the connection.
    ~BusThread();
    BusThread(const BusThread&) = delete;
    BusThread& operator=(const BusThread&) = delete;

    /// Only on the loop thread (inside a task), or before tasks touch it.
    sdbus::IConnection& connection() { return *connection_; }

    /// Queues task for the loop thread. Any thread.
    void post(std::function<void()> task);
    /// Runs task on the loop thread and waits for it. Any thread but the loop's.
    void runSync(const std::function<void()>& task);

private:
    void loop();
    void runTasks();

    std::unique_ptr<sdbus::IConnection> connection_;
    UniqueFd wake_; ///< eventfd: tasks are queued or stop is set
    std::mutex mutex_;
    std::deque<std::function<void()>> tasks_; // guarded by mutex_
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace voice::test
