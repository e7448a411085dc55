"""How the crawler reaches sites: the network guard, politeness slots, AutoThrottle's floor, the sites'
own URL rules, and the fetcher of `scrapy sources discover`."""
