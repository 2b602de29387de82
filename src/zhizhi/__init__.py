"""zhizhi (智治): digital governance platform for a Chinese district (Yongchuan, Chongqing)."""

__version__ = "0.1.0"
