// SPDX-License-Identifier: MIT
// CPU placement: audio_cpu parsing, the CPU chosen for a call, pinning a
// thread and putting its CPUs back, and a device opener whose threads start
// on the call's CPU (real threads, real affinity masks).
#include "audio/cpu_placement.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <thread>

using namespace voice;

namespace {

cpu_set_t cpusOfThisThread() {
    cpu_set_t set;
    CPU_ZERO(&set);
    EXPECT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(set), &set), 0);
    return set;
}

bool onlyOn(const cpu_set_t& set, int cpu) {
    return CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set);
}

/// The highest CPU this thread may use: pinning to it changes the mask on
/// any machine with more than one CPU.
int lastAllowedCpu() {
    const cpu_set_t set = cpusOfThisThread();
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu) {
        if (CPU_ISSET(cpu, &set)) {
            return cpu;
        }
    }
    return 0;
}

/// Stands in for ALSA's pulse plugin: opening starts a thread, which
/// reports the CPUs it was started with. Opening fails, so no Pcm is needed.
class ThreadStartingOpener final : public PcmOpener {
public:
    Result<std::unique_ptr<Pcm>> open(const PcmConfig&, PcmStream) override {
        openerCpus = cpusOfThisThread();
        std::thread client([this] { clientCpus = cpusOfThisThread(); });
        client.join();
        return Status(Errc::NotFound, "no device in this test");
    }
    cpu_set_t openerCpus{};
    cpu_set_t clientCpus{};
};

} // namespace

TEST(AnAudioCpuSetting, IsAutoOffOrACpuNumber) {
    auto a = parseAudioCpu("auto");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->mode, AudioCpuSetting::Mode::Auto);
    auto off = parseAudioCpu("off");
    ASSERT_TRUE(off.ok());
    EXPECT_EQ(off->mode, AudioCpuSetting::Mode::Off);
    auto three = parseAudioCpu("3");
    ASSERT_TRUE(three.ok());
    EXPECT_EQ(three->mode, AudioCpuSetting::Mode::Fixed);
    EXPECT_EQ(three->cpu, 3);
    auto last = parseAudioCpu(std::to_string(AudioCpuSetting::kMaxCpu));
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->cpu, AudioCpuSetting::kMaxCpu);
    EXPECT_EQ(AudioCpuSetting{}.mode, AudioCpuSetting::Mode::Auto) << "the default";
}

TEST(AnAudioCpuSetting, RejectsAnythingElse) {
    for (const char* bad : {"", "-1", "1024", "99999999999", "1x", " 1", "0x1", "on", "AUTO"}) {
        auto r = parseAudioCpu(bad);
        ASSERT_FALSE(r.ok()) << "'" << bad << "'";
        EXPECT_EQ(r.status().code(), Errc::InvalidArgument);
        EXPECT_NE(r.status().detail().find("auto, off or a CPU number"), std::string::npos);
    }
}

TEST(ChooseAudioCpu, IsNoneWhenOff) {
    EXPECT_FALSE(chooseAudioCpu({AudioCpuSetting::Mode::Off, -1}).has_value());
}

TEST(ChooseAudioCpu, AutoIsACpuThisThreadMayUse) {
    const auto cpu = chooseAudioCpu({AudioCpuSetting::Mode::Auto, -1});
    ASSERT_TRUE(cpu.has_value());
    const cpu_set_t allowed = cpusOfThisThread();
    EXPECT_TRUE(CPU_ISSET(*cpu, &allowed)) << *cpu;
}

TEST(ChooseAudioCpu, FixedIsThatCpuWhenAllowedAndNoneWhenNot) {
    const int cpu = lastAllowedCpu();
    EXPECT_EQ(chooseAudioCpu({AudioCpuSetting::Mode::Fixed, cpu}), std::optional<int>(cpu));
    // A CPU left out of this thread's mask (this machine has fewer).
    const cpu_set_t allowed = cpusOfThisThread();
    int missing = AudioCpuSetting::kMaxCpu;
    while (missing > 0 && CPU_ISSET(missing, &allowed)) {
        --missing;
    }
    ASSERT_FALSE(CPU_ISSET(missing, &allowed));
    EXPECT_FALSE(chooseAudioCpu({AudioCpuSetting::Mode::Fixed, missing}).has_value());
}

TEST(PinThisThread, RestrictsTheThreadToOneCpu) {
    const int cpu = lastAllowedCpu();
    std::thread t([cpu] {
        ASSERT_TRUE(pinThisThread(cpu).ok());
        EXPECT_TRUE(onlyOn(cpusOfThisThread(), cpu));
        EXPECT_EQ(sched_getcpu(), cpu) << "runs there from the call on";
    });
    t.join();
    EXPECT_FALSE(pinThisThread(-1).ok());
    EXPECT_FALSE(pinThisThread(CPU_SETSIZE).ok());
}

TEST(AScopedCpuPin, PinsForItsScopeAndPutsTheCpusBack) {
    std::thread t([] {
        const cpu_set_t before = cpusOfThisThread();
        const int cpu = lastAllowedCpu();
        {
            const ScopedCpuPin pin(cpu);
            EXPECT_TRUE(onlyOn(cpusOfThisThread(), cpu));
        }
        const cpu_set_t after = cpusOfThisThread();
        EXPECT_TRUE(CPU_EQUAL(&before, &after));
    });
    t.join();
}

TEST(APinnedPcmOpener, StartsTheDevicesThreadsOnTheCpuAndLeavesTheOpenerAsItWas) {
    std::thread t([] {
        const cpu_set_t before = cpusOfThisThread();
        const int cpu = lastAllowedCpu();
        auto inner = std::make_unique<ThreadStartingOpener>();
        ThreadStartingOpener* probe = inner.get();
        PinnedPcmOpener opener(cpu, std::move(inner));
        auto pcm = opener.open(PcmConfig{}, PcmStream::Capture);
        EXPECT_FALSE(pcm.ok());
        EXPECT_EQ(pcm.status().code(), Errc::NotFound) << "the inner opener's result";
        EXPECT_TRUE(onlyOn(probe->openerCpus, cpu));
        EXPECT_TRUE(onlyOn(probe->clientCpus, cpu)) << "a thread started inside open()";
        const cpu_set_t after = cpusOfThisThread();
        EXPECT_TRUE(CPU_EQUAL(&before, &after));
    });
    t.join();
}
