"""An example third-party rule pack: flags buildings taller than a threshold."""

from safespace import Finding, Metric, Param, rule


@rule(
    "XT001",
    "Tall buildings",
    "x-demo",
    params={
        "max_height_m": Param(10.0, "m", "tallest allowed", "demo force guidance [unverified]")
    },
    references=["Demo Constabulary design guide, 2026"],
)
def tall_buildings(site):
    """Flag buildings taller than max_height_m."""
    limit = site.params["max_height_m"]
    tall = site.layout.buildings[site.layout.buildings["height_m"] > limit]
    for row in tall.itertuples():
        yield Finding(
            severity="low",
            title="Tall building",
            geometry=row.geometry,
            message=f"{row.fid} is {row.height_m:g} m tall (limit {limit:g} m)",
            evidence={"height_m": row.height_m},
            features=[row.fid],
        )
    yield Metric("tall_buildings", len(tall))


RULES = [tall_buildings]
