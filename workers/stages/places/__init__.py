"""Places: the place names an article mentions, resolved to the map (GeoNames ids,
countries, regions, coordinates), and the countries it is about, ranked. Pure."""
