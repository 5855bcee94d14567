// SPDX-License-Identifier: MIT
// DeferredLog: Vyukov bounded MPMC queue of fixed-size log records.
#include "core/deferred_log.h"

#include <bit>
#include <cstdarg>
#include <cstdio>

namespace voice {

DeferredLog::DeferredLog(size_t capacity)
    : slots_(std::make_unique<Slot[]>(std::bit_ceil(capacity < 2 ? size_t{2} : capacity))),
      mask_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity) - 1) {
    for (size_t i = 0; i <= mask_; ++i) {
        slots_[i].sequence.store(i, std::memory_order_relaxed);
    }
}

bool DeferredLog::post(LogLevel level, const char* format, ...) {
    size_t pos = enqueuePos_.load(std::memory_order_relaxed);
    Slot* slot;
    for (;;) {
        slot = &slots_[pos & mask_];
        const size_t seq = slot->sequence.load(std::memory_order_acquire);
        const auto diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
        if (diff == 0) {
            if (enqueuePos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                break;
            }
        } else if (diff < 0) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        } else {
            pos = enqueuePos_.load(std::memory_order_relaxed);
        }
    }
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(slot->text, sizeof(slot->text), format, args);
    va_end(args);
    slot->level = level;
    slot->length = static_cast<uint16_t>(n < 0 ? 0 : (n >= int(kMaxMessage) ? kMaxMessage - 1 : n));
    slot->sequence.store(pos + 1, std::memory_order_release);
    return true;
}

size_t DeferredLog::drain() {
    size_t count = 0;
    for (;;) {
        const size_t pos = dequeuePos_.load(std::memory_order_relaxed);
        Slot& slot = slots_[pos & mask_];
        const size_t seq = slot.sequence.load(std::memory_order_acquire);
        if (seq != pos + 1) {
            return count; // empty, or the producer has not finished this slot
        }
        dequeuePos_.store(pos + 1, std::memory_order_relaxed);
        logMessage(slot.level, std::string_view(slot.text, slot.length));
        slot.sequence.store(pos + mask_ + 1, std::memory_order_release);
        ++count;
    }
}

DeferredLog& realtimeLog() {
    static DeferredLog log(512);
    return log;
}

DeferredLogFlusher::DeferredLogFlusher(DeferredLog& log, std::chrono::milliseconds interval)
    : log_(log), interval_(interval), thread_([this] { run(); }) {}

DeferredLogFlusher::~DeferredLogFlusher() {
    stop();
}

void DeferredLogFlusher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void DeferredLogFlusher::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, interval_);
        lock.unlock();
        log_.drain();
        lock.lock();
    }
    lock.unlock();
    log_.drain();
}

} // namespace voice
