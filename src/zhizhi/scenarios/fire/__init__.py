"""Forest and grassland fire scenario (森林草原防灭火): fire danger rating, satellite hotspots (卫星热点),
resources and the response loop. Nothing outside ``zhizhi.scenarios`` imports this package."""
