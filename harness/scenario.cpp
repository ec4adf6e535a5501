#include "harness/scenario.h"

#include "fakekvm/arch_vcpu.h"

#include <linux/kvm.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "harness/input_error.h"
#include "harness/input_file.h"
#include "harness/limits.h"
#include "harness/toml_input.h"
#include "sim/rng.h"

namespace regsync::harness {

namespace {

using fakekvm::GuestOp;
using fakekvm::GuestStep;

struct Ctx {
    const std::string& file;
    model::Arch arch;
    const model::Catalogue& cat;
    std::size_t nvcpus;
    [[noreturn]] void fail(const toml::node* n, const std::string& what) const {
        throw InputError::at(file, n ? static_cast<long>(n->source().begin.line) : 1, what);
    }
    [[noreturn]] void fail(long line, const std::string& what) const { throw InputError::at(file, line, what); }
};

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> w;
    for (std::string t; in >> t;) w.push_back(t);
    return w;
}

std::optional<std::uint64_t> parse_u64(const std::string& s) {
    std::uint64_t v = 0;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        b += 2;
        base = 16;
    }
    auto [p, ec] = std::from_chars(b, e, v, base);
    if (ec != std::errc() || p != e || b == e) return std::nullopt;
    return v;
}

model::RegIndex reg_or_fail(const Ctx& c, const toml::node* n, const std::string& name) {
    auto r = c.cat.find(name);
    if (!r) c.fail(n, "unknown register '" + name + "' for " + std::string(model::to_string(c.arch)));
    return *r;
}

std::uint64_t u64_or_fail(const Ctx& c, const toml::node* n, const std::string& s, const std::string& what) {
    auto v = parse_u64(s);
    if (!v) c.fail(n, "bad " + what + " '" + s + "' (want a decimal or 0x number)");
    return *v;
}

// A register value must fit the register: TOML integers are signed 64-bit,
// so a 64-bit register's value with the top bit set is written negative.
std::uint64_t fit_or_fail(const Ctx& c, const toml::node* n, model::RegIndex r, std::uint64_t v, bool from_signed) {
    const auto& d = c.cat[r];
    if (d.width >= 64 || (!(from_signed && static_cast<std::int64_t>(v) < 0) && (v & ~d.mask()) == 0)) return v;
    c.fail(n, "value " + (from_signed ? std::to_string(static_cast<std::int64_t>(v)) : "0x" + hex64(v)) + " does not fit " +
                  std::string(d.name) + " (" + std::to_string(d.width) + " bits)");
}

int vcpu_or_fail(const Ctx& c, const toml::node* n, const std::string& s) {
    auto v = u64_or_fail(c, n, s, "vCPU index");
    if (v >= c.nvcpus) c.fail(n, "vCPU " + s + " does not exist (scenario has " + std::to_string(c.nvcpus) + ")");
    return static_cast<int>(v);
}

GuestStep parse_step(const Ctx& c, const toml::node& n) {
    const auto* str = n.as_string();
    if (!str) c.fail(&n, "guest step must be a string such as \"write rax 0x1\"");
    const auto w = words(str->get());
    if (w.empty()) c.fail(&n, "empty guest step");
    const std::string& op = w[0];
    auto want = [&](std::size_t k) {
        if (w.size() != k + 1) c.fail(&n, "guest step '" + op + "' takes " + std::to_string(k) + " operand(s)");
    };
    const bool x86 = c.arch == model::Arch::X86;
    GuestStep s;
    try {
        if (auto own = fakekvm::parse_arch_step(c.arch, w, c.nvcpus)) return *own;
    } catch (const std::invalid_argument& e) {
        c.fail(&n, e.what());
    }
    if (op == "nop") {
        want(0);
    } else if (op == "hlt") {
        want(0);
        s.op = GuestOp::Hlt;
    } else if (op == "write") {
        want(2);
        s.op = GuestOp::Write;
        s.reg = reg_or_fail(c, &n, w[1]);
        s.value = fit_or_fail(c, &n, s.reg, u64_or_fail(c, &n, w[2], "value"), false);
    } else if (op == "rdtsc") {
        want(0);
        if (!x86) c.fail(&n, "rdtsc is an x86 guest step");
        s.op = GuestOp::Rdtsc;
    } else if (op == "ack_tsr") {
        want(1);
        if (x86) c.fail(&n, "ack_tsr is a PowerPC Book-E guest step");
        s.op = GuestOp::AckTsr;
        std::stringstream bits(w[1]);
        for (std::string b; std::getline(bits, b, '|');) {
            auto v = model::tsr::bit_from_name(b);
            if (!v) c.fail(&n, "unknown TSR bit '" + b + "' (ENW, WIS, DIS, FIS)");
            s.value |= *v;
        }
    } else if (op == "send_init" || op == "send_sipi") {
        want(op == "send_init" ? 1 : 2);
        if (!x86) c.fail(&n, op + " is an x86 guest step");
        s.op = op == "send_init" ? GuestOp::SendInit : GuestOp::SendSipi;
        s.target = vcpu_or_fail(c, &n, w[1]);
        if (op == "send_sipi") {
            s.value = u64_or_fail(c, &n, w[2], "SIPI vector");
            if (s.value > 0xff) c.fail(&n, "SIPI vector must fit in 8 bits");
        }
    } else if (op == "arm_tsc_deadline") {
        want(1);
        if (!x86) c.fail(&n, "arm_tsc_deadline is an x86 guest step");
        s.op = GuestOp::ArmDeadline;
        s.value = u64_or_fail(c, &n, w[1], "TSC delta");
    } else if (op == "hypercall") {
        want(1);
        s.op = GuestOp::Hypercall;
        s.value = u64_or_fail(c, &n, w[1], "hypercall number");
    } else if (op == "io") {
        want(2);
        s.op = GuestOp::Io;
        const auto port = u64_or_fail(c, &n, w[1], "port");
        if (port > 0xffff) c.fail(&n, "I/O port must fit in 16 bits");
        s.port = static_cast<std::uint16_t>(port);
        s.value = u64_or_fail(c, &n, w[2], "value");
        if (s.value > 0xffffffffULL) c.fail(&n, "I/O value must fit in 32 bits");
    } else {
        const std::string own = fakekvm::arch_step_names(c.arch);
        if (!own.empty()) c.fail(&n, "unknown guest step '" + op + "' (nop, write, io, hypercall, " + own + ")");
        c.fail(&n, "unknown guest step '" + op + "' (nop, write, rdtsc, ack_tsr, arm_tsc_deadline, send_init, send_sipi, hlt, io, hypercall)");
    }
    return s;
}

std::vector<GuestStep> parse_code(const Ctx& c, const toml::node& n) {
    const auto* arr = n.as_array();
    if (!arr) c.fail(&n, "'code' must be an array of guest steps");
    if (arr->size() > limits::kStepsPerProgram)
        c.fail(&n, "a program of " + std::to_string(arr->size()) + " guest steps: the limit is " + std::to_string(limits::kStepsPerProgram));
    std::vector<GuestStep> steps;
    for (const auto& e : *arr) steps.push_back(parse_step(c, e));
    return steps;
}

template <typename T>
T get_or(const Ctx& c, const toml::table& t, std::string_view key, T dflt) {
    const toml::node* n = t.get(key);
    if (!n) return dflt;
    auto v = n->value<T>();
    if (!v) c.fail(n, "'" + std::string(key) + "' has the wrong type");
    return *v;
}

// An integer key that must lie in [lo, hi]: the error names the value's line.
std::uint64_t get_uint(const Ctx& c, const toml::table& t, std::string_view key, std::uint64_t dflt, std::uint64_t lo = 0,
                       std::uint64_t hi = ~0ULL >> 1) {
    const toml::node* n = t.get(key);
    if (!n) return dflt;
    auto v = n->value<std::int64_t>();
    if (!v || !n->is_integer()) c.fail(n, "'" + std::string(key) + "' must be an integer");
    if (*v < 0 || static_cast<std::uint64_t>(*v) < lo || static_cast<std::uint64_t>(*v) > hi)
        c.fail(n, "'" + std::string(key) + "' = " + std::to_string(*v) + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
    return static_cast<std::uint64_t>(*v);
}

void check_keys(const Ctx& c, const toml::table& t, std::initializer_list<std::string_view> allowed, const char* where) {
    for (const auto& [k, v] : t)
        if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
            c.fail(&v, std::string("unknown key '") + std::string(k.str()) + "' in " + where);
}

VcpuSpec parse_vcpu(const Ctx& c, const toml::table& t, std::size_t index) {
    check_keys(c, t, {"bsp", "state", "code", "program", "regs", "timer"}, "[[vcpu]]");
    VcpuSpec v;
    v.bsp = get_or<bool>(c, t, "bsp", index == 0);
    // arm64 and riscv64 create secondaries STOPPED (QEMU's start_powered_off;
    // riscv's kvm_arch_vcpu_postcreate), waiting for a start request.
    const bool start_requests = c.cat.stopped_mp_state != 0;
    const std::string state = get_or<std::string>(c, t, "state", start_requests && !v.bsp ? "stopped" : "running");
    if (state == "running") v.mp_state = KVM_MP_STATE_RUNNABLE;
    else if (start_requests && state == "stopped") v.mp_state = c.cat.stopped_mp_state;
    else if (!start_requests && state == "wait-for-sipi") v.mp_state = KVM_MP_STATE_INIT_RECEIVED;
    else if (!start_requests && state == "uninitialized") v.mp_state = KVM_MP_STATE_UNINITIALIZED;
    else c.fail(t.get("state"), start_requests ? "state must be running or stopped" : "state must be running, wait-for-sipi or uninitialized");
    if (const auto* code = t.get("code")) v.image.push_back({c.cat.reset_pc(), parse_code(c, *code)});
    if (const auto* progs = t.get("program")) {
        const auto* arr = progs->as_array();
        if (!arr) c.fail(progs, "'program' must be an array of tables ([[vcpu.program]])");
        if (arr->size() >= limits::kProgramsPerVcpu)
            c.fail(progs, std::to_string(arr->size()) + " [[vcpu.program]] tables: the limit is " + std::to_string(limits::kProgramsPerVcpu) +
                              " programs per vCPU, the reset code included");
        for (const auto& p : *arr) {
            const auto* pt = p.as_table();
            if (!pt) c.fail(&p, "[[vcpu.program]] must be a table");
            check_keys(c, *pt, {"entry", "code"}, "[[vcpu.program]]");
            const auto* entry = pt->get("entry");
            const auto* code = pt->get("code");
            if (!entry) c.fail(&p, "[[vcpu.program]] needs an integer 'entry' address");
            if (!code) c.fail(&p, "[[vcpu.program]] needs 'code'");
            v.image.push_back({get_uint(c, *pt, "entry", 0), parse_code(c, *code)});
        }
    }
    if (const auto* regs = t.get("regs")) {
        const auto* rt = regs->as_table();
        if (!rt) c.fail(regs, "'regs' must be a table of register = value");
        for (const auto& [k, val] : *rt) {
            auto r = reg_or_fail(c, &val, std::string(k.str()));
            auto iv = val.value<std::int64_t>();
            if (!iv) c.fail(&val, "register value must be an integer");
            v.regs.emplace_back(r, fit_or_fail(c, &val, r, static_cast<std::uint64_t>(*iv), true));
        }
    }
    if (const auto* timer = t.get("timer")) {
        if (c.arch != model::Arch::PpcBookE) c.fail(timer, "Book-E timers exist only on ppc-booke");
        const auto* arr = timer->as_array();
        if (!arr) c.fail(timer, "'timer' must be an array of tables ([[vcpu.timer]])");
        if (arr->size() > limits::kTimersPerVcpu)
            c.fail(timer, std::to_string(arr->size()) + " [[vcpu.timer]] tables: the limit is " + std::to_string(limits::kTimersPerVcpu) + " per vCPU");
        for (const auto& e : *arr) {
            const auto* et = e.as_table();
            if (!et) c.fail(&e, "[[vcpu.timer]] must be a table");
            check_keys(c, *et, {"at_tick", "set"}, "[[vcpu.timer]]");
            fakekvm::TimerExpiry x;
            x.at_tick = get_uint(c, *et, "at_tick", 0);
            const std::string set = get_or<std::string>(c, *et, "set", "");
            if (set == "watchdog") x.bits = 0;
            else if (set == "DIS" || set == "FIS") x.bits = *model::tsr::bit_from_name(set);
            else c.fail(et->get("set") ? et->get("set") : &e, "timer 'set' must be DIS, FIS or watchdog");
            v.timer.push_back(x);
        }
    }
    return v;
}

MainOp parse_main(const Ctx& c, const toml::table& t) {
    check_keys(c, t, {"op", "vcpu", "reg", "value", "snapshot", "after_tick", "after_io"}, "[[main]]");
    MainOp m;
    m.line = static_cast<long>(t.source().begin.line);
    const std::string op = get_or<std::string>(c, t, "op", "");
    const long op_line = t.get("op") ? static_cast<long>(t.get("op")->source().begin.line) : m.line;
    if (op == "monitor-read") m.kind = MainOpKind::MonitorRead;
    else if (op == "monitor-write") m.kind = MainOpKind::MonitorWrite;
    else if (op == "system-reset") m.kind = MainOpKind::SystemReset;
    else if (op == "savevm") m.kind = MainOpKind::Savevm;
    else if (op == "loadvm") m.kind = MainOpKind::Loadvm;
    else if (op == "guest-reset") m.kind = MainOpKind::GuestReset;
    else c.fail(op_line, "[[main]] op must be monitor-read, monitor-write, system-reset, guest-reset, savevm or loadvm (got '" + op + "')");
    const auto vcpu = get_or<std::int64_t>(c, t, "vcpu", 0);
    if (vcpu < 0 || static_cast<std::size_t>(vcpu) >= c.nvcpus)
        c.fail(t.get("vcpu"), "vCPU " + std::to_string(vcpu) + " does not exist (scenario has " + std::to_string(c.nvcpus) + ")");
    m.vcpu = static_cast<int>(vcpu);
    if (m.kind == MainOpKind::MonitorRead || m.kind == MainOpKind::MonitorWrite) {
        const auto* r = t.get("reg");
        if (!r) c.fail(op_line, op + " needs reg = \"NAME\"");
        if (!r->is_string()) c.fail(r, op + " needs reg = \"NAME\" (a string)");
        m.reg = reg_or_fail(c, r, *r->value<std::string>());
    }
    if (m.kind == MainOpKind::MonitorWrite) {
        const auto* v = t.get("value");
        if (!v) c.fail(op_line, "monitor-write needs an integer value");
        if (!v->is_integer()) c.fail(v, "monitor-write needs an integer value");
        m.value = fit_or_fail(c, v, m.reg, static_cast<std::uint64_t>(*v->value<std::int64_t>()), true);
    }
    if (m.kind == MainOpKind::Savevm || m.kind == MainOpKind::Loadvm) m.snapshot = get_or<std::string>(c, t, "snapshot", "snap");
    m.after_tick = get_uint(c, t, "after_tick", 0);
    if (const auto* io = t.get("after_io")) {
        m.after_io = static_cast<std::uint32_t>(get_uint(c, t, "after_io", 0, 0, 0xffffffffULL));
        m.after_io_line = static_cast<long>(io->source().begin.line);
    }
    return m;
}

// A lower bound on the steps of any execution that ends: the guest steps
// that vCPUs starting RUNNABLE must execute before anything can stop or
// redirect them. Each guest step ends in a scheduling point (FakeVcpu::
// kvm_run), so at least one step each. Counting stops at a step that can
// halt, stop or move the vCPU (hlt, INIT, SIPI, an architecture's call, a
// write of the PC); a vCPU that another's step or a timer can reach, and
// every vCPU once the monitor writes a PC, counts nothing.
std::uint64_t guest_steps_needed(const Scenario& s) {
    const auto& cat = model::catalogue(s.arch);
    const auto writes_pc = [&](model::RegIndex r) { return r == cat.pc || (cat.cs_base >= 0 && r == cat.cs_base); };
    for (const auto& m : s.main)
        if (m.kind == MainOpKind::MonitorWrite && writes_pc(m.reg)) return 0;
    std::vector<bool> reachable(s.vcpus.size(), false);
    for (const auto& v : s.vcpus)
        for (const auto& g : v.image)
            for (const auto& st : g.steps)
                if (st.target >= 0 && static_cast<std::size_t>(st.target) < reachable.size()) reachable[static_cast<std::size_t>(st.target)] = true;
    const auto regs = s.initial_registers();
    std::uint64_t need = 0;
    for (std::size_t i = 0; i < s.vcpus.size(); ++i) {
        const auto& v = s.vcpus[i];
        const std::uint64_t mp = cat.mp_state >= 0 ? regs[i][static_cast<std::size_t>(cat.mp_state)] : v.mp_state;
        if (reachable[i] || !v.timer.empty() || mp != KVM_MP_STATE_RUNNABLE) continue;
        const std::uint64_t pc = cat.guest_pc(regs[i]);
        const auto prog = std::find_if(v.image.begin(), v.image.end(), [&](const fakekvm::GuestProgram& g) { return g.entry == pc; });
        if (prog == v.image.end()) continue;
        for (const auto& st : prog->steps) {
            const bool plain = st.op == GuestOp::Nop || st.op == GuestOp::Rdtsc || st.op == GuestOp::AckTsr || st.op == GuestOp::Io ||
                               st.op == GuestOp::ArmDeadline || st.op == GuestOp::Hypercall || (st.op == GuestOp::Write && !writes_pc(st.reg));
            if (!plain) break;
            ++need;
        }
    }
    return need;
}

}  // namespace

std::string hex64(std::uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

Scenario parse_scenario(const std::string& text, const std::string& file) {
    const toml::table root = parse_toml(text, file);
    Scenario s;
    s.file = file;
    s.content_hash = sim::fnv1a(text);
    const std::string arch = root["arch"].value_or<std::string>("");
    auto a = model::arch_from_string(arch);
    if (!a) throw InputError::at(file, root.get("arch") ? static_cast<long>(root.get("arch")->source().begin.line) : 1, "arch must be one of " + model::arch_names());
    s.arch = *a;
    const auto& cat = model::catalogue(s.arch);
    const auto* vcpus = root.get("vcpu");
    const auto* varr = vcpus ? vcpus->as_array() : nullptr;
    if (!varr || varr->empty()) throw InputError::at(file, 1, "a scenario needs at least one [[vcpu]]");
    if (varr->size() > limits::kVcpus)
        throw InputError::at(file, static_cast<long>(vcpus->source().begin.line),
                             std::to_string(varr->size()) + " [[vcpu]] tables: the limit is " + std::to_string(limits::kVcpus) + " vCPUs");
    Ctx c{file, s.arch, cat, varr->size()};
    check_keys(c, root, {"name", "description", "arch", "properties", "max_steps", "clock", "vcpu", "main"}, "the scenario");
    s.name = get_or<std::string>(c, root, "name", std::filesystem::path(file).stem().string());
    s.description = get_or<std::string>(c, root, "description", "");
    s.max_steps = static_cast<std::uint32_t>(get_uint(c, root, "max_steps", 2000, 1, limits::kMaxSteps));
    if (const auto* props = root.get("properties")) {
        const auto* arr = props->as_array();
        if (!arr) c.fail(props, "'properties' must be an array of property names");
        s.properties = 0;
        for (const auto& p : *arr) {
            auto name = p.value<std::string>();
            auto prop = name ? properties::property_from_string(*name) : std::nullopt;
            if (!prop) c.fail(&p, "unknown property '" + name.value_or("?") + "'");
            s.properties |= properties::bit(*prop);
        }
    }
    if (const auto* clock = root.get("clock")) {
        const auto* ct = clock->as_table();
        if (!ct) c.fail(clock, "[clock] must be a table");
        check_keys(c, *ct, {"ticks", "tsc_per_tick"}, "[clock]");
        s.clock_ticks = get_uint(c, *ct, "ticks", 0);
        s.tsc_per_tick = get_uint(c, *ct, "tsc_per_tick", 1000, 1);
    }
    for (std::size_t i = 0; i < varr->size(); ++i) {
        const auto* vt = (*varr)[i].as_table();
        if (!vt) c.fail(&(*varr)[i], "[[vcpu]] must be a table");
        s.vcpus.push_back(parse_vcpu(c, *vt, i));
    }
    std::size_t guest_steps = 0;
    for (const auto& v : s.vcpus)
        for (const auto& g : v.image) guest_steps += g.steps.size();
    if (guest_steps > limits::kGuestSteps)
        throw InputError::at(file, static_cast<long>(vcpus->source().begin.line),
                             std::to_string(guest_steps) + " guest steps in all programs: the limit is " + std::to_string(limits::kGuestSteps));
    if (std::count_if(s.vcpus.begin(), s.vcpus.end(), [](const VcpuSpec& v) { return v.bsp; }) != 1)
        throw InputError::at(file, static_cast<long>(vcpus->source().begin.line), "exactly one vCPU must be the BSP");
    if (const auto* main = root.get("main")) {
        const auto* arr = main->as_array();
        if (!arr) c.fail(main, "'main' must be an array of tables ([[main]])");
        if (arr->size() > limits::kMainOps)
            c.fail(main, std::to_string(arr->size()) + " [[main]] operations: the limit is " + std::to_string(limits::kMainOps));
        for (const auto& m : *arr) {
            const auto* mt = m.as_table();
            if (!mt) c.fail(&m, "[[main]] must be a table");
            s.main.push_back(parse_main(c, *mt));
        }
    }
    // An after_io no guest program can report would wait for ever: the
    // scenario is wrong, not the policy (it is not a deadlock to report).
    for (const auto& m : s.main) {
        if (!m.after_io) continue;
        const bool reported = std::any_of(s.vcpus.begin(), s.vcpus.end(), [&](const VcpuSpec& v) {
            return std::any_of(v.image.begin(), v.image.end(), [&](const fakekvm::GuestProgram& g) {
                return std::any_of(g.steps.begin(), g.steps.end(), [&](const GuestStep& st) { return st.op == GuestOp::Io && st.value == *m.after_io; });
            });
        });
        if (!reported) c.fail(m.after_io_line, "after_io = " + std::to_string(*m.after_io) + ": no guest program performs 'io PORT " + std::to_string(*m.after_io) + "'");
    }
    // A guest-reset no guest can request would wait for ever.
    for (const auto& m : s.main)
        if (m.kind == MainOpKind::GuestReset &&
            std::none_of(s.vcpus.begin(), s.vcpus.end(), [&](const VcpuSpec& v) {
                return std::any_of(v.image.begin(), v.image.end(), [&](const fakekvm::GuestProgram& g) {
                    return std::any_of(g.steps.begin(), g.steps.end(), [&](const GuestStep& st) { return fakekvm::requests_system_reset(s.arch, st); });
                });
            }))
        {
            const std::string name(model::to_string(s.arch)), steps = fakekvm::arch_step_names(s.arch);
            c.fail(m.line, "guest-reset: no guest program requests a system reset" +
                               (steps.empty() ? " (no " + name + " guest step can)" : " (" + name + " steps: " + steps + ")"));
        }
    for (const auto& m : s.main)
        if (m.kind == MainOpKind::Loadvm &&
            std::none_of(s.main.begin(), s.main.end(), [&](const MainOp& o) { return o.kind == MainOpKind::Savevm && o.snapshot == m.snapshot && o.line < m.line; }))
            c.fail(m.line, "loadvm of snapshot '" + m.snapshot + "' that no earlier savevm creates");
    // Virtual time moves only with the clock's ticks: a later tick never comes.
    for (const auto& m : s.main)
        if (m.after_tick > s.clock_ticks)
            c.fail(m.line, "after_tick = " + std::to_string(m.after_tick) + ", but the clock stops at tick " + std::to_string(s.clock_ticks) +
                               " ([clock] ticks)");
    // Say so now, rather than after every execution ran into the limit.
    if (const auto need = guest_steps_needed(s); need >= s.max_steps) {
        const std::uint64_t suggest = std::min<std::uint64_t>(limits::kMaxSteps, (2 * need + 1000) / 1000 * 1000);
        c.fail(root.get("max_steps"), "max_steps = " + std::to_string(s.max_steps) + " ends every execution early: the vCPUs that start running execute at least " +
                                          std::to_string(need) + " guest steps, a step each; set max_steps to " + std::to_string(suggest) +
                                          " or more" + (suggest <= need ? " (the limit is " + std::to_string(limits::kMaxSteps) + ": shorten the programs)" : ""));
    }
    return s;
}

std::vector<model::RegisterValues> Scenario::initial_registers() const {
    const auto& cat = model::catalogue(arch);
    std::vector<model::RegisterValues> out;
    for (const auto& v : vcpus) {
        auto regs = cat.reset_values(v.bsp);
        if (cat.mp_state >= 0) regs[static_cast<std::size_t>(cat.mp_state)] = v.mp_state;
        for (const auto& [r, val] : v.regs) regs[static_cast<std::size_t>(r)] = val & cat[r].mask();
        out.push_back(regs);
    }
    return out;
}

std::vector<bool> Scenario::bsp_flags() const {
    std::vector<bool> b;
    for (const auto& v : vcpus) b.push_back(v.bsp);
    return b;
}

Scenario load_scenario(const std::string& name_or_path, const std::string& bundled_dir) {
    std::filesystem::path p = name_or_path;
    if (!std::filesystem::exists(p) && p.extension() != ".toml") p = std::filesystem::path(bundled_dir) / (name_or_path + ".toml");
    const auto text = read_input_file(p.string(), limits::kTomlBytes, "scenario");
    if (!text) throw InputError(name_or_path + ": no such scenario file or bundled scenario (see 'regsync list')");
    Scenario s = parse_scenario(*text, p.string());
    s.source = name_or_path;
    return s;
}

std::vector<std::string> toml_names(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> bundled_scenarios(const std::string& bundled_dir) { return toml_names(bundled_dir); }

}  // namespace regsync::harness
