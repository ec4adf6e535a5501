// The oracle on hand-built histories: each property fires on a violating
// history and stays quiet on the corrected one.
#include <gtest/gtest.h>

#include <linux/kvm.h>

#include <map>

#include "model/catalogue.h"
#include "properties/oracle.h"

namespace regsync::testing {
namespace {

using model::Arch;
using properties::Property;
using sim::Event;
using sim::EventKind;
using sim::Writer;

class History {
public:
    explicit History(Arch arch, int vcpus = 1) : cat_(model::catalogue(arch)) {
        for (int i = 0; i < vcpus; ++i) {
            auto regs = cat_.reset_values(i == 0);
            if (cat_.mp_state >= 0) regs[static_cast<std::size_t>(cat_.mp_state)] = KVM_MP_STATE_RUNNABLE;
            in_.initial.push_back(regs);
            in_.bsp.push_back(i == 0);
        }
        in_.cat = &cat_;
    }
    model::RegIndex reg(const char* n) const { return *cat_.find(n); }

    History& write(int v, const char* r, std::uint64_t val, Writer w) { return write(v, reg(r), val, w); }
    History& write(int v, model::RegIndex r, std::uint64_t val, Writer w) {
        const std::uint64_t old = shadow(v, r);
        add({.kind = EventKind::KernelWrite, .writer = w, .vcpu = static_cast<std::int16_t>(v), .reg = r, .old = old, .value = val,
             .mask = cat_[r].time_varying ? ~0ULL : (old ^ val)});
        current_[{v, r}] = val;
        return *this;
    }
    History& intent(int v, const char* r, std::uint64_t val, sim::IntentCause c = sim::IntentCause::Monitor) {
        add({.kind = EventKind::Intent, .vcpu = static_cast<std::int16_t>(v), .reg = reg(r), .aux = static_cast<std::uint32_t>(c),
             .value = val, .mask = cat_[reg(r)].mask()});
        return *this;
    }
    // A userspace write of IA32_TSC that found the TSC at `old`.
    History& tsc_write(int v, std::uint64_t old, std::uint64_t val) {
        return add({.kind = EventKind::KernelWrite, .writer = Writer::Userspace, .vcpu = static_cast<std::int16_t>(v),
                    .reg = reg("IA32_TSC"), .old = old, .value = val, .mask = ~0ULL});
    }
    History& resumed() { return add({.kind = EventKind::VmResumed}); }
    History& enter(int v) { return add({.kind = EventKind::VcpuEnter, .vcpu = static_cast<std::int16_t>(v)}); }
    History& tsc_read(int v, std::uint64_t t) { return add({.kind = EventKind::GuestTscRead, .vcpu = static_cast<std::int16_t>(v), .value = t}); }
    History& init(int from, int to) { return add({.kind = EventKind::InitSent, .vcpu = static_cast<std::int16_t>(from), .aux = static_cast<std::uint32_t>(to)}); }
    History& sipi(int from, int to, std::uint64_t vec) {
        return add({.kind = EventKind::SipiSent, .vcpu = static_cast<std::int16_t>(from), .aux = static_cast<std::uint32_t>(to), .value = vec});
    }
    // What the kernel did with INIT and SIPI (the fake reports it).
    History& accepted(int v) { return add({.kind = EventKind::InitAccepted, .vcpu = static_cast<std::int16_t>(v)}); }
    History& cleared(int v) { return add({.kind = EventKind::InitCleared, .writer = Writer::Userspace, .vcpu = static_cast<std::int16_t>(v)}); }
    History& sipi_accepted(int v, std::uint64_t vec) { return add({.kind = EventKind::SipiAccepted, .vcpu = static_cast<std::int16_t>(v), .value = vec}); }
    History& sipi_dropped(int v) { return add({.kind = EventKind::SipiDropped, .vcpu = static_cast<std::int16_t>(v), .value = KVM_MP_STATE_RUNNABLE}); }
    // kvm_apic_accept_events() on an AP: INIT (reset, wait for SIPI), then SIPI.
    History& ap_accepts(int v) {
        return accepted(v).write(v, "cs.base", 0, Writer::Init).write(v, "rip", 0xfff0, Writer::Init).write(v, "mp_state", KVM_MP_STATE_INIT_RECEIVED, Writer::Init);
    }
    History& ap_starts(int v, std::uint64_t vec) {
        return sipi_accepted(v, vec).write(v, "cs.base", vec << 12, Writer::Init).write(v, "rip", 0, Writer::Init).write(v, "mp_state", KVM_MP_STATE_RUNNABLE, Writer::Init);
    }
    // A real kernel: no fate events.
    History& without_fates() {
        in_.init_fate_events = false;
        return *this;
    }
    History& guest_entry(int v, std::uint64_t pc) { return add({.kind = EventKind::GuestEntry, .vcpu = static_cast<std::int16_t>(v), .value = pc}); }
    History& saved(int v, const char* r, std::uint64_t val) {
        return add({.kind = EventKind::SnapshotSaved, .vcpu = static_cast<std::int16_t>(v), .reg = reg(r), .value = val});
    }
    History& loaded() { return add({.kind = EventKind::SnapshotLoaded}); }

    properties::Verdict check(properties::PropertySet only = properties::kAllProperties) {
        in_.enabled = only;
        return properties::check(in_, events_);
    }
    // What the incremental oracle (dfs --state-cache) keeps of this history.
    std::uint64_t monitor_hash() const {
        properties::Monitor m(in_);
        for (const auto& e : events_) m.feed(e);
        return m.state_hash();
    }
    std::vector<Property> fired(properties::PropertySet only = properties::kAllProperties) {
        std::vector<Property> out;
        for (const auto& v : check(only).violations) out.push_back(v.property);
        return out;
    }

private:
    History& add(Event e) {
        e.step = ++step_;
        events_.push_back(e);
        return *this;
    }
    std::uint64_t shadow(int v, model::RegIndex r) const {
        auto it = current_.find({v, r});
        return it != current_.end() ? it->second : in_.initial[static_cast<std::size_t>(v)][static_cast<std::size_t>(r)];
    }
    const model::Catalogue& cat_;
    properties::OracleInput in_;
    std::vector<Event> events_;
    std::map<std::pair<int, model::RegIndex>, std::uint64_t> current_;
    std::uint32_t step_ = 0;
};

using P = std::vector<Property>;

// Histories the properties cannot tell apart from here on hash alike; an
// open intent, a bit the kernel set, or an INIT waiting for its SIPI tells
// them apart.
TEST(Monitor, HashesWhatThePropertiesStillNeed) {
    History a(Arch::PpcBookE), b(Arch::PpcBookE);
    a.write(0, "r3", 1, Writer::Guest).write(0, "r4", 2, Writer::Guest);
    b.write(0, "r4", 2, Writer::Guest).write(0, "r3", 1, Writer::Guest);  // another order, other steps
    EXPECT_EQ(a.monitor_hash(), b.monitor_hash());
    History open(Arch::PpcBookE);
    open.write(0, "r3", 1, Writer::Guest).write(0, "r4", 2, Writer::Guest).intent(0, "r5", 7);
    EXPECT_NE(a.monitor_hash(), open.monitor_hash());
    History kernel(Arch::PpcBookE), user(Arch::PpcBookE);
    kernel.write(0, "TSR", model::tsr::DIS, Writer::Timer);
    user.intent(0, "TSR", model::tsr::DIS).write(0, "TSR", model::tsr::DIS, Writer::Userspace).resumed().enter(0);
    EXPECT_NE(kernel.monitor_hash(), user.monitor_hash());
    History waiting(Arch::X86, 2), idle(Arch::X86, 2);
    waiting.init(0, 1);
    EXPECT_NE(waiting.monitor_hash(), idle.monitor_hash());
}

TEST(Oracle, LostKernelWriteFiresWhenABlindWritebackClearsATimerBit) {
    History h(Arch::PpcBookE);
    h.write(0, "TSR", model::tsr::DIS, Writer::Timer).write(0, "TSR", 0, Writer::Userspace);
    auto v = h.check();
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].property, Property::LostKernelWrite);
    EXPECT_EQ(v.violations[0].bits, model::tsr::DIS);
    EXPECT_NE(v.violations[0].message.find("TSR bits 0x8000000 set by timer"), std::string::npos);
}

TEST(Oracle, GuestAcknowledgeAndIntendedResetMayClearTimerBits) {
    History h(Arch::PpcBookE);
    h.write(0, "TSR", model::tsr::DIS, Writer::Timer).write(0, "TSR", 0, Writer::Guest);
    h.write(0, "TSR", model::tsr::FIS, Writer::Timer).intent(0, "TSR", 0, sim::IntentCause::Reset).write(0, "TSR", 0, Writer::Userspace);
    EXPECT_EQ(h.fired(), P{});
}

TEST(Oracle, AnIntentAlreadyInTheKernelJustifiesNoWriteAfterItsOperationEnds) {
    // Machine init put TSR = 0; once the VM runs, a later blind writeback
    // of that 0 over a timer bit is a lost kernel write.
    History h(Arch::PpcBookE);
    h.intent(0, "TSR", 0, sim::IntentCause::MachineInit).resumed().write(0, "TSR", model::tsr::DIS, Writer::Timer);
    h.write(0, "TSR", 0, Writer::Userspace);
    EXPECT_EQ(h.fired(), P{Property::LostKernelWrite});
    // During the reset itself a timer bit may be cleared by the reset value.
    History ok(Arch::PpcBookE);
    ok.intent(0, "TSR", 0, sim::IntentCause::Reset).write(0, "TSR", model::tsr::DIS, Writer::Timer);
    ok.write(0, "TSR", 0, Writer::Userspace).resumed().enter(0);
    EXPECT_EQ(ok.fired(), P{});
}

TEST(Oracle, AnIntentNotYetInTheKernelStaysOpenUntilTheVcpuEnters) {
    History h(Arch::X86);
    h.intent(0, "rax", 5).resumed().write(0, "rax", 5, Writer::Userspace).enter(0);
    EXPECT_EQ(h.fired(), P{});
}

TEST(Oracle, AnIntentJustifiesOnlyItsOwnRegister) {
    History h(Arch::PpcBookE);
    h.write(0, "TSR", model::tsr::DIS, Writer::Timer);
    h.intent(0, "r3", 1).write(0, "r3", 1, Writer::Userspace);  // the monitor meant r3...
    h.write(0, "TSR", 0, Writer::Userspace);                     // ...not TSR
    EXPECT_EQ(h.fired(), P{Property::LostKernelWrite});
}

TEST(Oracle, LostUserspaceWriteFiresWhenAnIntentNeverReachesTheKernel) {
    History h(Arch::X86);
    h.intent(0, "rax", 5);
    EXPECT_EQ(h.fired(), P{Property::LostUserspaceWrite});
    History ok(Arch::X86);
    ok.intent(0, "rax", 5).write(0, "rax", 5, Writer::Userspace);
    EXPECT_EQ(ok.fired(), P{});
}

TEST(Oracle, LostUserspaceWriteFiresWhenAStaleValueReplacesTheIntendedOne) {
    History h(Arch::X86);
    h.intent(0, "rbx", 5).write(0, "rbx", 5, Writer::Userspace).enter(0).write(0, "rbx", 0, Writer::Userspace);
    EXPECT_EQ(h.fired(), P{Property::LostUserspaceWrite});
}

TEST(Oracle, DirtyEntryFiresWhenKvmRunStartsBeforeTheIntendedWrite) {
    History h(Arch::X86);
    h.intent(0, "nmi.pending", 1).enter(0).write(0, "nmi.pending", 1, Writer::Userspace);
    EXPECT_EQ(h.fired(), P{Property::DirtyEntry});  // delayed, not lost
    History ok(Arch::X86);
    ok.intent(0, "nmi.pending", 1).write(0, "nmi.pending", 1, Writer::Userspace).enter(0);
    EXPECT_EQ(ok.fired(), P{});
}

TEST(Oracle, DisabledPropertiesAreNotReported) {
    History h(Arch::X86);
    h.intent(0, "nmi.pending", 1).enter(0);
    EXPECT_EQ(h.fired(properties::bit(Property::DirtyEntry)), P{Property::DirtyEntry});
    EXPECT_EQ(h.fired(properties::bit(Property::LostInit)), P{});
}

TEST(Oracle, TscJumpBackFiresOnADecreasingGuestReadButNotAcrossAnIntendedWrite) {
    History h(Arch::X86);
    h.tsc_read(0, 100).tsc_read(0, 200).tsc_write(0, 210, 50).tsc_read(0, 150);
    EXPECT_EQ(h.fired(), P{Property::TscJumpBack});
    History ok(Arch::X86);
    ok.tsc_read(0, 100).tsc_read(0, 200).intent(0, "IA32_TSC", 50, sim::IntentCause::Snapshot).tsc_write(0, 210, 50).enter(0).tsc_read(0, 150);
    EXPECT_EQ(ok.fired(), P{});
}

TEST(Oracle, TscJumpBackComparesReadsAcrossVcpus) {
    // vcpu1's TSC was rewound by a stale runtime writeback: the guest sees
    // time go backwards when it moves from vcpu0 to vcpu1 (a TSC warp).
    History h(Arch::X86, 2);
    h.tsc_read(1, 100).tsc_write(1, 150, 100).tsc_read(0, 300).tsc_read(1, 260);
    auto v = h.check();
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].property, Property::TscJumpBack);
    EXPECT_EQ(v.violations[0].vcpu, 1);
    EXPECT_NE(v.violations[0].message.find("40 cycles behind vcpu0"), std::string::npos) << v.violations[0].message;
}

TEST(Oracle, IntendedTscWritesThatDesynchronizeVcpusAreNotAJumpBack) {
    // loadvm restores TSC values captured at slightly different times.
    History h(Arch::X86, 2);
    h.tsc_read(0, 500).intent(0, "IA32_TSC", 100, sim::IntentCause::Snapshot).intent(1, "IA32_TSC", 130, sim::IntentCause::Snapshot);
    h.tsc_write(0, 520, 100).tsc_write(1, 530, 130).enter(1).tsc_read(1, 140).enter(0).tsc_read(0, 125);
    EXPECT_EQ(h.fired(), P{});
}

// A message states what the kernel holds: for the TSC, what it read after
// the last userspace write (the oracle's copy of the initial value is not it).
TEST(Oracle, TscMessagesSayWhatTheKernelsTscRead) {
    History h(Arch::X86);
    h.intent(0, "IA32_TSC", 0x10, sim::IntentCause::Snapshot).tsc_write(0, 0x5000, 0x5000).enter(0);
    const auto v = h.check(properties::bit(Property::DirtyEntry));
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_NE(v.violations[0].message.find("the kernel's TSC read 0x5000 after the last userspace write at step 2"), std::string::npos)
        << v.violations[0].message;
}

// Each INIT is judged by its fate in the kernel.
TEST(Oracle, AnInitAcceptedAndStartedAtItsSipiVectorHolds) {
    History ok(Arch::X86, 2);
    ok.init(0, 1).sipi(0, 1, 0x10).ap_accepts(1).ap_starts(1, 0x10).guest_entry(1, 0x10000);
    EXPECT_EQ(ok.fired(), P{});
    History waiting(Arch::X86, 2);  // no SIPI yet: waiting for one, as it should
    waiting.init(0, 1).ap_accepts(1);
    EXPECT_EQ(waiting.fired(), P{});
    History wrong_place(Arch::X86, 2);
    wrong_place.init(0, 1).sipi(0, 1, 0x10).ap_accepts(1).ap_starts(1, 0x10).guest_entry(1, 0x20000);
    EXPECT_EQ(wrong_place.fired(), P{Property::LostInit});
    History never_ran(Arch::X86, 2);
    never_ran.init(0, 1).sipi(0, 1, 0x10).ap_accepts(1).ap_starts(1, 0x10);
    EXPECT_EQ(never_ran.fired(), P{Property::LostInit});
    History bsp(Arch::X86, 2);
    bsp.init(1, 0).accepted(0).guest_entry(0, 0xfffffff0);
    EXPECT_EQ(bsp.fired(), P{});
}

// Two INITs pending when the AP accepts are one reset; a SIPI that arrives
// after the AP started is dropped, as on hardware. Nothing is lost (the
// old oracle gave the second INIT the second SIPI and reported it lost).
TEST(Oracle, MergedInitsAndALateSipiAreNotALostInit) {
    History h(Arch::X86, 3);
    h.init(0, 1).sipi(0, 1, 0x10).init(2, 1).ap_accepts(1).ap_starts(1, 0x10).guest_entry(1, 0x10000).sipi(2, 1, 0x20).sipi_dropped(1);
    EXPECT_EQ(h.fired(), P{});
    // Both SIPIs pending at acceptance: the kernel keeps the latest vector.
    History latest(Arch::X86, 3);
    latest.init(0, 1).sipi(0, 1, 0x10).init(2, 1).sipi(2, 1, 0x20).ap_accepts(1).ap_starts(1, 0x20).guest_entry(1, 0x20000);
    EXPECT_EQ(latest.fired(), P{});
    // One INIT accepted, the second one pending: it is accepted later.
    History later(Arch::X86, 3);
    later.init(0, 1).ap_accepts(1).init(2, 1).sipi(2, 1, 0x20).ap_accepts(1).ap_starts(1, 0x20).guest_entry(1, 0x20000);
    EXPECT_EQ(later.fired(), P{});
}

TEST(Oracle, AnInitClearedByUserspaceIsLost) {
    History h(Arch::X86, 2);
    h.init(0, 1).cleared(1);
    const auto v = h.check();
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].property, Property::LostInit);
    EXPECT_NE(v.violations[0].message.find("latched_init = 0"), std::string::npos) << v.violations[0].message;
    History never(Arch::X86, 2);  // sent and never accepted
    never.init(0, 1);
    EXPECT_EQ(never.fired(), P{Property::LostInit});
}

TEST(Oracle, AnInitOverwrittenByTheHltStoreIsLost) {
    History h(Arch::X86, 2);
    h.init(0, 1).write(1, "mp_state", KVM_MP_STATE_INIT_RECEIVED, Writer::Init).accepted(1).sipi(0, 1, 0x10)
        .write(1, "mp_state", KVM_MP_STATE_SIPI_RECEIVED, Writer::Init).write(1, "mp_state", KVM_MP_STATE_HALTED, Writer::Halt);
    const auto v = h.check(properties::bit(Property::LostInit));
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_NE(v.violations[0].message.find("HLT"), std::string::npos) << v.violations[0].message;
}

// Accepted, then undone by a stale userspace put before the AP ran: of
// mp_state (no longer waiting for SIPI), or of CS:RIP (runs the old code).
TEST(Oracle, AnAcceptedInitUndoneByAStalePutIsLost) {
    History mp(Arch::X86, 2);
    mp.init(0, 1).ap_accepts(1).write(1, "mp_state", KVM_MP_STATE_RUNNABLE, Writer::Userspace);
    EXPECT_EQ(mp.fired(properties::bit(Property::LostInit)), P{Property::LostInit});
    History regs(Arch::X86, 2);
    regs.init(0, 1).sipi(0, 1, 0x10).ap_accepts(1).ap_starts(1, 0x10)
        .write(1, "cs.base", 0, Writer::Userspace).write(1, "rip", 0x1003, Writer::Userspace).write(1, "rip", 0x1004, Writer::Guest);
    const auto v = regs.check(properties::bit(Property::LostInit));
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_NE(v.violations[0].message.find("ran at 0x1003"), std::string::npos) << v.violations[0].message;
    // A write the VMM meant (a monitor write of mp_state) is no loss.
    History meant(Arch::X86, 2);
    meant.init(0, 1).ap_accepts(1).intent(1, "mp_state", KVM_MP_STATE_RUNNABLE).write(1, "mp_state", KVM_MP_STATE_RUNNABLE, Writer::Userspace);
    EXPECT_EQ(meant.fired(), P{});
    // A system reset re-initialises every vCPU.
    History reset(Arch::X86, 2);
    reset.init(0, 1).intent(1, "rip", 0xfff0, sim::IntentCause::Reset);
    EXPECT_EQ(reset.fired(properties::bit(Property::LostInit)), P{});
}

// On a real kernel (kvm-replay) acceptance is not observable: an INIT
// counts as taken when sent, the first SIPI while waiting is the one.
TEST(Oracle, WithoutFateEventsTheFirstSipiWhileWaitingCounts) {
    History h(Arch::X86, 2);
    h.without_fates().init(0, 1).sipi(0, 1, 0x10);
    EXPECT_EQ(h.fired(), P{Property::LostInit});
    History ok(Arch::X86, 2);
    ok.without_fates().init(0, 1).sipi(0, 1, 0x10).guest_entry(1, 0x10000).sipi(0, 1, 0x20);
    EXPECT_EQ(ok.fired(), P{});
    History ap(Arch::X86, 2);
    ap.without_fates().init(0, 1).write(1, "mp_state", KVM_MP_STATE_INIT_RECEIVED, Writer::Init);
    EXPECT_EQ(ap.fired(), P{});
    History bsp(Arch::X86, 2);
    bsp.without_fates().init(1, 0).guest_entry(0, 0xfffffff0);
    EXPECT_EQ(bsp.fired(), P{});
    // Two senders: the kernel may have merged the INITs, and the AP may run
    // at either SIPI's vector (kvm-replay of init-lost-to-hlt-two-senders).
    History merged(Arch::X86, 3);
    merged.without_fates().init(0, 1).sipi(0, 1, 0x10).init(2, 1).sipi(2, 1, 0x20).guest_entry(1, 0x10000);
    EXPECT_EQ(merged.fired(), P{});
}

TEST(Oracle, SnapshotFidelityChecksWhatSavevmCaptured) {
    History h(Arch::X86);
    h.write(0, "rax", 7, Writer::Guest).saved(0, "rax", 0);
    EXPECT_EQ(h.fired(), P{Property::SnapshotFidelity});
    History ok(Arch::X86);
    ok.write(0, "rax", 7, Writer::Guest).saved(0, "rax", 7);
    EXPECT_EQ(ok.fired(), P{});
}

TEST(Oracle, SavevmMayCaptureAnIntendedWriteNotYetPut) {
    History h(Arch::X86);
    h.intent(0, "rax", 9).resumed().saved(0, "rax", 9);
    EXPECT_EQ(h.fired(properties::bit(Property::SnapshotFidelity)), P{});
    History stale(Arch::X86);
    stale.intent(0, "rax", 9).resumed().saved(0, "rax", 0);
    EXPECT_EQ(stale.fired(properties::bit(Property::SnapshotFidelity)), P{Property::SnapshotFidelity});
}

TEST(Oracle, SnapshotFidelityChecksTheKernelWhenTheFirstVcpuRunsAfterLoadvm) {
    History h(Arch::X86, 2);
    h.loaded().intent(1, "rax", 9, sim::IntentCause::Snapshot).enter(0).write(1, "rax", 9, Writer::Userspace);
    EXPECT_EQ(h.fired(properties::bit(Property::SnapshotFidelity)), P{Property::SnapshotFidelity});
    History ok(Arch::X86, 2);
    ok.loaded().intent(1, "rax", 9, sim::IntentCause::Snapshot).write(1, "rax", 9, Writer::Userspace).enter(0);
    EXPECT_EQ(ok.fired(), P{});
}

}  // namespace
}  // namespace regsync::testing
