/* SPDX-License-Identifier: GPL-2.0 */
/* The module's instances (module/core.cpp, module/pmu.cpp, module/source.cpp). */
#pragma once

#include <lbrctx/pmu.h>

namespace lbrctx {

/* The product's store: the one lbrctx's PMU attaches task data to. */
Store &the_store();

} // namespace lbrctx
