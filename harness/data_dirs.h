// Where regsync's bundled data lives: the scenarios, kernel profiles and bug
// catalogue. In order: $REGSYNC_DATA_DIR (a folder with scenarios/,
// kernels/ and catalogue/), the share/regsync folder of the prefix the
// running program was installed to (<prefix>/bin/regsync), else the source
// tree it was built from.
#pragma once
#include <string>

namespace regsync::harness {

const std::string& data_scenario_dir();
const std::string& data_kernel_dir();
const std::string& data_catalogue_file();

}  // namespace regsync::harness
