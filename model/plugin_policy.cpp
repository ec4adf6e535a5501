#include "model/plugin_policy.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "model/ioctl_fields.h"
#include "model/policies/qemu_today.h"
#include "sim/flight_recorder.h"
#include "sim/footprint.h"
#include "sim/world.h"

namespace regsync::model {

struct PluginPolicy::Handle {
    regsync_vcpu pub;  // first: the layer's regsync_vcpu* is this Handle's address
    PluginPolicy* owner;
    CPUState* cpu;
};

namespace {
constexpr unsigned kLocks = 16;

// Catalogue names are string literals (model/catalogue.cpp), so their
// data() is NUL-terminated: no copy per call.
const char* reg_name(const Catalogue& c, RegIndex r) { return c[r].name.data(); }

std::string errno_text(int neg) { return std::to_string(neg) + " (" + std::strerror(-neg) + ")"; }

// Marks the hook in the flight recorder for as long as it runs.
class HookScope {
public:
    HookScope(const char* hook, int vcpu) { sim::flight::enter_hook(hook, vcpu); }
    ~HookScope() { sim::flight::leave_hook(); }
};
}  // namespace

// The functions behind struct regsync_services. Exceptions never cross the
// layer's frames: the end of the execution (sim::Shutdown) inside a
// service is noted and thrown again when the hook has returned.
struct PluginServices {
    static PluginPolicy::Handle& h(regsync_vcpu* v) { return *reinterpret_cast<PluginPolicy::Handle*>(v); }

    static int vcpu_ioctl(regsync_vcpu* v, unsigned long request, void* arg) {
        auto& hd = h(v);
        PluginPolicy& p = *hd.owner;
        if (p.shutdown_) return -ESHUTDOWN;
        // KVM_RUN is issued by regsync's kvm_cpu_exec, around pre_run and post_run.
        if (request == KVM_RUN) {
            p.last_ioctl_error_ = "KVM_RUN from inside a hook (refused: regsync's kvm_cpu_exec runs the vCPU) -> -EPERM";
            return -EPERM;
        }
        int r;
        try {
            r = hd.cpu->kvm->ioctl(request, arg);
        } catch (const sim::Shutdown&) {
            p.shutdown_ = true;
            return -ESHUTDOWN;
        }
        sim::flight::heartbeat();
        if (r < 0) p.last_ioctl_error_ = ioctl_name(hd.owner->cat_->arch, request) + " on vcpu" + std::to_string(hd.cpu->cpu_index) + " -> " + errno_text(r);
        return r;
    }

    static void lock(regsync_vcpu* v, unsigned id) {
        PluginPolicy& p = *h(v).owner;
        if (p.shutdown_) return;
        if (id >= kLocks) {
            p.last_ioctl_error_ = "regsync_lock(" + std::to_string(id) + "): lock ids are 0.." + std::to_string(kLocks - 1);
            return;
        }
        const std::uint16_t bit = static_cast<std::uint16_t>(1u << id);
        auto& w = *p.world_;
        try {
            w.sched().point();  // taking a contended mutex is a scheduling point
            w.lock_attempt(sim::Obj::plugin_lock(id));
            if (p.locks_held_ & bit) w.sched().wait_until([&] { return !(p.locks_held_ & bit); });
        } catch (const sim::Shutdown&) {
            p.shutdown_ = true;
            return;
        }
        p.locks_held_ |= bit;
        w.acquired(sim::Obj::plugin_lock(id));
    }

    static void unlock(regsync_vcpu* v, unsigned id) {
        PluginPolicy& p = *h(v).owner;
        if (p.shutdown_ || id >= kLocks) return;
        p.world_->released(sim::Obj::plugin_lock(id));
        p.locks_held_ = static_cast<std::uint16_t>(p.locks_held_ & ~(1u << id));
    }

    static int runstate_is_running(regsync_vcpu* v) {
        auto& hd = h(v);
        if (!hd.owner->shutdown_) hd.owner->world_->read(sim::Obj::kRunState);
        return hd.cpu->vm_running ? 1 : 0;
    }

    static int reset_value(regsync_vcpu* v, const char* name, std::uint64_t* value) {
        auto& hd = h(v);
        const auto r = name ? hd.owner->cat_->find(name) : std::nullopt;
        if (!r || !value) return -ENOENT;
        *value = hd.owner->cat_->reset_values(hd.cpu->cpu_index == 0)[static_cast<std::size_t>(*r)];
        return 0;
    }

    static int cpu_index(regsync_vcpu* v) { return h(v).cpu->cpu_index; }

    static constexpr regsync_services table{sizeof(regsync_services), &vcpu_ioctl, &lock, &unlock, &runstate_is_running, &reset_value, &cpu_index};
};

std::string check_layer(const regsync_sync_layer& l) {
    if (l.abi_version != REGSYNC_ABI_VERSION)
        return "layer built for regsync ABI version " + std::to_string(l.abi_version) + ", this regsync has ABI version " +
               std::to_string(REGSYNC_ABI_VERSION);
    if (l.size != sizeof(regsync_sync_layer))
        return "layer table is " + std::to_string(l.size) + " bytes, ABI version " + std::to_string(REGSYNC_ABI_VERSION) + " has " +
               std::to_string(sizeof(regsync_sync_layer));
    if (!l.name || !*l.name) return "layer without a name";
    for (const char* c = l.name; *c; ++c)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_'))
            return std::string("layer name '") + l.name + "' has a character outside [a-z0-9._-]";
    if (l.arch < REGSYNC_ARCH_X86 || l.arch > REGSYNC_ARCH_RISCV64)
        return std::string("layer '") + l.name + "': unknown arch " + std::to_string(l.arch);
    if (l.flags & ~(REGSYNC_F_PUT_UNDER_BQL | REGSYNC_F_RUNSTATE_AFTER_PAUSE | REGSYNC_F_READS_ON_VCPU_THREAD))
        return std::string("layer '") + l.name + "': unknown flags " + std::to_string(l.flags);
    const std::pair<const void*, const char*> required[] = {
        {reinterpret_cast<const void*>(l.create_vcpu), "create_vcpu"},
        {reinterpret_cast<const void*>(l.needs_synchronize), "needs_synchronize"},
        {reinterpret_cast<const void*>(l.synchronize_state), "synchronize_state"},
        {reinterpret_cast<const void*>(l.post_reset), "post_reset"},
        {reinterpret_cast<const void*>(l.post_init), "post_init"},
        {reinterpret_cast<const void*>(l.pre_run), "pre_run"},
        {reinterpret_cast<const void*>(l.get_register), "get_register"},
        {reinterpret_cast<const void*>(l.set_register), "set_register"},
    };
    for (const auto& [fn, what] : required)
        if (!fn) return std::string("layer '") + l.name + "' has no " + what + " hook";
    return "";
}

PluginPolicy::PluginPolicy(const regsync_sync_layer& layer) : layer_(layer) {}

PluginPolicy::~PluginPolicy() {
    if (layer_.destroy_vcpu)
        for (void* s : states_)
            if (s) layer_.destroy_vcpu(s);
}

template <typename F>
int PluginPolicy::call(const char* hook, const CPUState& cpu, F&& f) const {
    int r;
    {
        HookScope scope(hook, cpu.cpu_index);
        r = f();
    }
    if (shutdown_) {
        shutdown_ = false;  // the actor unwinds now; later calls (after the run) are not part of it
        throw sim::Shutdown{};
    }
    if (r < 0) {
        std::string msg = std::string("policy '") + layer_.name + "': hook " + hook + " on vcpu" + std::to_string(cpu.cpu_index) +
                          " returned " + errno_text(r);
        if (!last_ioctl_error_.empty()) msg += "; the last ioctl that failed: " + last_ioctl_error_;
        if (sim::flight::installed()) {
            // Supervised: the parent process writes the trace and the report.
            sim::flight::record_fault(msg);
            std::fflush(stdout);
            ::_exit(sim::flight::kFaultExit);
        }
        throw PluginFault(msg);
    }
    return r;
}

void PluginPolicy::attach(sim::World& world, std::vector<CPUState>& cpus) {
    world_ = &world;
    cat_ = &catalogue(arch_of(layer_));
    for (auto& c : cpus) {
        auto h = std::make_unique<Handle>(Handle{{&PluginServices::table}, this, &c});
        void* st = nullptr;
        call("create_vcpu", c, [&] {
            st = layer_.create_vcpu(&h->pub);
            return st ? 0 : -ENOMEM;
        });
        handles_.push_back(std::move(h));
        states_.push_back(st);
        // The board's initial registers, as QEMU's machine code sets env.
        for (std::size_t i = 0; i < cat_->size(); ++i)
            call("set_register", c, [&] { return layer_.set_register(st, reg_name(*cat_, static_cast<RegIndex>(i)), c.env[i]); });
    }
}

bool PluginPolicy::needs_synchronize(const CPUState& cpu) const {
    return call("needs_synchronize", cpu, [&] { return layer_.needs_synchronize(state(cpu)) ? 1 : 0; }) != 0;
}
void PluginPolicy::synchronize_state(CPUState& cpu, const ArchSync&) {
    call("synchronize_state", cpu, [&] { return layer_.synchronize_state(state(cpu)); });
}
void PluginPolicy::post_reset(CPUState& cpu, const ArchSync&) {
    call("post_reset", cpu, [&] { return layer_.post_reset(state(cpu)); });
}
void PluginPolicy::post_init(CPUState& cpu, const ArchSync&) {
    call("post_init", cpu, [&] { return layer_.post_init(state(cpu)); });
}
void PluginPolicy::pre_run(CPUState& cpu, const ArchSync&) {
    call("pre_run", cpu, [&] { return layer_.pre_run(state(cpu)); });
}
void PluginPolicy::post_run(CPUState& cpu, const ArchSync&) {
    if (layer_.post_run) call("post_run", cpu, [&] { return layer_.post_run(state(cpu)); });
}
bool PluginPolicy::process_async_events(CPUState& cpu, const ArchSync&) {
    if (!layer_.process_async_events) return false;
    return call("process_async_events", cpu, [&] { return layer_.process_async_events(state(cpu)); }) == 1;
}
void PluginPolicy::pre_loadvm(CPUState& cpu, const ArchSync&) {
    if (layer_.pre_loadvm) call("pre_loadvm", cpu, [&] { return layer_.pre_loadvm(state(cpu)); });
}
void PluginPolicy::vm_state_change(CPUState& cpu, const ArchSync&, bool running) {
    if (layer_.vm_state_change) call("vm_state_change", cpu, [&] { return layer_.vm_state_change(state(cpu), running ? 1 : 0); });
}
void PluginPolicy::reset_handlers(CPUState& cpu, const ArchSync&) {
    if (layer_.reset_handlers) call("reset_handlers", cpu, [&] { return layer_.reset_handlers(state(cpu)); });
}
void PluginPolicy::kvm_get_tsc(CPUState& cpu, const ArchSync&) {
    if (layer_.kvm_get_tsc) call("kvm_get_tsc", cpu, [&] { return layer_.kvm_get_tsc(state(cpu)); });
}
std::uint64_t PluginPolicy::tsc_after_reset(std::uint64_t current, std::uint64_t reset) const {
    return layer_.tsc_after_reset ? layer_.tsc_after_reset(current, reset) : kvm_tsc_after_reset(current, reset);
}

std::uint64_t PluginPolicy::read_reg(CPUState& cpu, const ArchSync& arch, RegIndex r) {
    std::uint64_t v = 0;
    call("get_register", cpu, [&] { return layer_.get_register(state(cpu), reg_name(arch.cat(), r), &v); });
    return v & arch.cat()[r].mask();
}

void PluginPolicy::write_reg(CPUState& cpu, const ArchSync& arch, RegIndex r, std::uint64_t v) {
    call("set_register", cpu, [&] { return layer_.set_register(state(cpu), reg_name(arch.cat(), r), v); });
}

}  // namespace regsync::model
