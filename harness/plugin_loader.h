// Loading users' sync layers (include/regsync/regsync.h) from shared
// objects: every check that can be made before the library's code runs is
// made first (the ABI version is a data symbol), then regsync_plugin_init()
// registers its layers as policies that behave as built-ins do.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "regsync/regsync.h"

namespace regsync::harness {

struct LoadedPlugin {
    std::string path;    // as given
    std::uint64_t hash;  // of the file's bytes (FNV-1a 64)
    std::vector<std::string> policies;
};

// Throws InputError "PATH: what is wrong" for a file that is not a loadable
// regsync plugin of this ABI version, or whose layers are malformed.
const LoadedPlugin& load_plugin(const std::string& path);
// Registers a layer linked into the program itself (find_package(regsync)),
// with `origin` standing for the plugin path in traces. Throws InputError.
void register_linked_layer(const regsync_sync_layer& layer, const std::string& origin);
const std::vector<LoadedPlugin>& loaded_plugins();

// The checks made before dlopen() runs any of a plugin's code, on the
// file's first bytes: an ELF shared object for this machine. "" or why not.
std::string elf_header_problem(std::string_view head);
// Every check of a layer table before it becomes a policy (the ABI fields,
// name, arch, flags, hooks, 'follows', and that it keeps every catalogue
// register): "" or why not.
std::string check_layer_table(const regsync_sync_layer& layer);

// FNV-1a 64 over a file's bytes; InputError if it cannot be read.
std::uint64_t file_hash(const std::string& path);

}  // namespace regsync::harness
