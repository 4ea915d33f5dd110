// A single-producer single-consumer ring of preallocated slots: how the
// socket reader hands datagrams to worker threads, and workers hand events to
// the output thread, without a lock or an allocation. The producer fills a
// slot in place (claim, then publish); the consumer reads it in place (front,
// then pop). Full: claim() returns null and the caller counts the drop.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

namespace sibilant::service {

template <class T>
class SpscRing {
public:
    /// `capacity` is rounded up to a power of two. Allocates every slot.
    explicit SpscRing(std::size_t capacity) {
        std::size_t size = 2;
        while (size < capacity) size *= 2;
        slots_.resize(size);
        mask_ = size - 1;
    }
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    /// Producer: the next free slot, or null when full.
    T* claim() noexcept {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_.load(std::memory_order_acquire) > mask_) return nullptr;
        return &slots_[tail & mask_];
    }
    /// Producer: makes the claimed slot visible to the consumer.
    void publish() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    /// Consumer: the oldest published slot, or null when empty.
    T* front() noexcept {
        const std::size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_.load(std::memory_order_acquire)) return nullptr;
        return &slots_[head & mask_];
    }
    /// Consumer: gives the front slot back to the producer.
    void pop() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    std::size_t capacity() const noexcept { return slots_.size(); }
    /// Slots themselves, for set-up (e.g. reserving strings in each).
    std::vector<T>& slots() noexcept { return slots_; }

private:
    std::vector<T> slots_;
    std::size_t mask_ = 0;
    // Apart, so that producer and consumer do not share a cache line.
    alignas(64) std::atomic<std::size_t> head_{0};
    alignas(64) std::atomic<std::size_t> tail_{0};
};

}  // namespace sibilant::service
