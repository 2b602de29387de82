"""Canadian Forest Fire Weather Index System (FWI System, 加拿大森林火险天气指数系统), vectorised with numpy.

The six standard components and the Daily Severity Rating, each a plain function over numpy arrays
(broadcast together, one value per station or grid cell), plus :func:`fwi_series`, which chains them
day by day over a ``(days, n)`` weather series from the start-up codes (FFMC 85, DMC 6, DC 15).
This numpy code is the reference; large series go to the compiled loop of :mod:`.indices_kernel`
(numba), which agrees with it to ~1e-13. Day-length factors: :mod:`.day_length` (re-exported here).

Inputs are noon local-standard-time observations: air temperature (°C), relative humidity (%),
10 m open wind speed (km/h) and 24 h rainfall (mm, noon to noon).

Sources
-------
* Van Wagner, C.E. and Pickett, T.L. (1985). *Equations and FORTRAN program for the Canadian Forest
  Fire Weather Index System.* Can. For. Serv., For. Tech. Rep. 33. Equation numbers below are theirs.
* Van Wagner, C.E. (1987). *Development and structure of the Canadian Forest Fire Weather Index
  System.* Can. For. Serv., For. Tech. Rep. 35.
* Lawson, B.D. and Armitage, O.B. (2008). *Weather guide for the Canadian Forest Fire Danger Rating
  System.* Nat. Resour. Can., Edmonton (day-length factors by latitude band).
* Forestry Canada Fire Danger Group (1992). *Development and structure of the Canadian Forest Fire
  Behavior Prediction System.* ST-X-3, Eq. 53a (the FBP-system ISI wind function).
* The behaviour at the edges (caps, the latitude bands of ``lat.adjust``, what becomes NA, the
  "exact" FFMC coefficient 250·59.5/101) follows the R package cffdrs (cffdrs/cffdrs_r, GPL-2,
  read at commit 4d20a303), whose reference tables this module reproduces; the code is our own.

NA handling (as cffdrs): a NaN input gives NaN, and in :func:`fwi_series` a NaN moisture code is
carried to every later day of that cell (a daily bookkeeping system cannot skip a day). The
component functions accept out-of-range values as cffdrs does (e.g. FFMC is NaN for rh < 0, because
rh**0.679 is undefined); :func:`fwi_series`, like ``cffdrs::fwi``, refuses negative rh, wind or rain
and sets rh >= 100 to 99.9999.

Modules: ``components`` (the component functions), ``chain`` (:func:`fwi_series`). Everything public
is re-exported here, with the day-length tables of :mod:`.day_length`.
"""

from __future__ import annotations

from zhizhi.scenarios.fire.day_length import (  # noqa: F401 (re-exported)
    DC_DAY_LENGTH_EQUATOR,
    DC_DAY_LENGTH_NORTH,
    DC_DAY_LENGTH_SOUTH,
    DMC_DAY_LENGTH_20N,
    DMC_DAY_LENGTH_20S,
    DMC_DAY_LENGTH_40S,
    DMC_DAY_LENGTH_46N,
    DMC_DAY_LENGTH_EQUATOR,
    _arrays,
    _dc_day_length,
    _dmc_day_length,
    _month_index,
    dc_day_length,
    dmc_day_length,
)
from zhizhi.scenarios.fire.indices.chain import (  # noqa: F401 (re-exported)
    CHUNK_CELLS,
    COMPILED_MIN_CELL_DAYS,
    RH_CAP,
    START_DC,
    START_DMC,
    START_FFMC,
    FWIComponents,
    fwi_series,
)
from zhizhi.scenarios.fire.indices.components import (  # noqa: F401 (re-exported)
    FFMC_COEFFICIENT,
    FFMC_COEFFICIENT_1985,
    LN10,
    FloatArray,
    buildup_index,
    daily_severity_rating,
    drought_code,
    duff_moisture_code,
    fine_fuel_moisture_code,
    fire_weather_index,
    initial_spread_index,
)
