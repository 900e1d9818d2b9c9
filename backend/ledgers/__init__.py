"""Ledgers: the daily records a workshop keeps (晨检, 进货查验, 生产, 添加剂, 清洗消毒, 销售),
append-only and hash-chained per workshop, with raw-material lots, buyers and shipments."""
